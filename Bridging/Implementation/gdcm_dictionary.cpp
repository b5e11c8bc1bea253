// gdcm_dictionary.cpp — GDCM's DICOM data dictionary, exported once as a flat table of C structs.
// Swift builds its own lookup tables from it (keyword → tag, tag → VR) and asks for private entries
// one at a time, by creator.
#include "bridge_internal.h"
#include "bridge_gdcm.h"

#include <mutex>
#include <vector>

using medvol_bridge::failure;
using medvol_bridge::guarded;
using medvol_bridge::success;

namespace {

void copy_vr(const gdcm::VR &vr, char (&out)[16]) {
    const char *text = gdcm::VR::GetVRString(vr);
    std::snprintf(out, sizeof out, "%s", text ? text : "");
}

mv_dictionary_entry make_entry(uint16_t group, uint16_t element, const gdcm::DictEntry &entry) {
    mv_dictionary_entry out{};
    out.group = group;
    out.element = element;
    copy_vr(entry.GetVR(), out.vr);
    out.keyword = entry.GetKeyword();
    out.name = entry.GetName();
    out.multiplicity = gdcm::VM::GetVMString(entry.GetVM());
    if (!out.multiplicity) out.multiplicity = "";
    out.retired = entry.GetRetired() ? 1 : 0;
    return out;
}

} // namespace

extern "C" mv_status mvi_dictionary_public(const mv_dictionary_entry **entries, size_t *count) {
    return guarded("loading the DICOM dictionary", [&]() -> mv_status {
        static std::vector<mv_dictionary_entry> table;
        static std::once_flag once;
        std::call_once(once, [] {
            const gdcm::Dict &dictionary = gdcm::Global::GetInstance().GetDicts().GetPublicDict();
            for (auto it = dictionary.Begin(); it != dictionary.End(); ++it) {
                const gdcm::Tag &tag = it->first;
                table.push_back(make_entry(tag.GetGroup(), tag.GetElement(), it->second));
            }
        });
        if (table.empty()) return failure("GDCM's public dictionary is empty");
        *entries = table.data();
        *count = table.size();
        return success();
    });
}

extern "C" int mvi_dictionary_private(uint16_t group, uint16_t element, const char *creator,
                                     mv_dictionary_entry *entry) {
    try {
        const gdcm::PrivateDict &dictionary = gdcm::Global::GetInstance().GetDicts().GetPrivateDict();
        const gdcm::PrivateTag tag(group, static_cast<uint16_t>(element & 0x00ff), creator);
        if (!dictionary.FindDictEntry(tag)) return 0;
        *entry = make_entry(group, element, dictionary.GetDictEntry(tag));
        return 1;
    } catch (...) {
        return 0;
    }
}

extern "C" const char *mvi_uid_name(const char *uid) {
    try {
        gdcm::UIDs uids;
        if (!uids.SetFromUID(uid)) return nullptr;
        const char *name = uids.GetName();
        return name && *name ? name : nullptr;
    } catch (...) {
        return nullptr;
    }
}
