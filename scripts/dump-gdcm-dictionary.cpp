// dump-gdcm-dictionary.cpp — prints GDCM's compiled-in DICOM data dictionary as tab-separated lines, the
// input of scripts/generate-dictionary.py (which compiles and runs this program).
//
//   P  group element vrs vm retired keyword name          public dictionary (GDCM Dicts::GetPublicDict)
//   V  group element creator vrs vm retired keyword name  private dictionary (Dicts::GetPrivateDict)
//   U  uid name                                           UID names (UIDs::GetTransferSyntaxStrings)
//   G  version                                            GDCM's version
//
// Group and element in hex; vrs is GDCM's VR string ("US or SS").
// PrivateDict has no iterator: its map is reached by opening the class (this program only reads it).
#include <map>
#include <string>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <vector>
#include <set>
#include <iomanip>
#include <cstring>
#include <fstream>
#define private public
#define protected public
#include <gdcmDict.h>
#undef private
#undef protected
#include <gdcmDicts.h>
#include <gdcmGlobal.h>
#include <gdcmUIDs.h>
#include <gdcmVersion.h>
#include <cstdio>
#include <string>

static std::string field(const char *text) {
    std::string out = text ? text : "";
    for (char &c : out) if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    return out;
}

static void entry(const gdcm::DictEntry &e) {
    const char *vr = gdcm::VR::GetVRString(e.GetVR());
    const char *vm = gdcm::VM::GetVMString(e.GetVM());
    std::printf("\t%s\t%s\t%d\t%s\t%s\n", field(vr).c_str(), field(vm).c_str(), e.GetRetired() ? 1 : 0,
                field(e.GetKeyword()).c_str(), field(e.GetName()).c_str());
}

int main() {
    std::printf("G\t%s\n", gdcm::Version::GetVersion());
    const gdcm::Dicts &dicts = gdcm::Global::GetInstance().GetDicts();
    const gdcm::Dict &pub = dicts.GetPublicDict();
    for (auto it = pub.Begin(); it != pub.End(); ++it) {
        std::printf("P\t%04x\t%04x", it->first.GetGroup(), it->first.GetElement());
        entry(it->second);
    }
    const gdcm::PrivateDict &priv = dicts.GetPrivateDict();
    for (auto it = priv.DictInternal.begin(); it != priv.DictInternal.end(); ++it) {
        if (it->first.GetGroup() == 0xffff && it->first.GetElement() == 0xff) continue;  // GDCM's sentinel
        std::printf("V\t%04x\t%04x\t%s", it->first.GetGroup(), it->first.GetElement(), field(it->first.GetOwner()).c_str());
        entry(it->second);
    }
    const unsigned int n = gdcm::UIDs::GetNumberOfTransferSyntaxStrings();
    for (unsigned int i = 0; i < n; ++i) {
        const char *const *pair = gdcm::UIDs::GetTransferSyntaxString(i);
        if (pair && pair[0] && pair[1]) std::printf("U\t%s\t%s\n", field(pair[0]).c_str(), field(pair[1]).c_str());
    }
    return 0;
}
