/// Whether the pixels of an image may show burned-in text (a name, a date) that de-identification of
/// the attributes cannot remove: medvol never looks at the pixels, so it says so.
public enum BurnedInAnnotation {
    /// Modalities whose images commonly carry burned-in text: ultrasound (US, IVUS), secondary capture
    /// and other (SC, OT), X-ray angiography and fluoroscopy (XA, RF), endoscopy and photography (ES,
    /// XC, GM), and document (DOC).
    public static let commonModalities: Set<String> = ["US", "IVUS", "SC", "OT", "XA", "RF", "ES", "XC", "GM", "DOC"]

    /// Why the pixels of `dataSet` may show identifying text — "Burned In Annotation is YES" or
    /// "modality US often has burned-in text" — or nil when Burned In Annotation (0028,0301) is NO, or
    /// absent for another modality. Secondary Capture SOP classes (1.2.840.10008.5.1.4.1.1.7…) count as SC.
    public static func assess(_ dataSet: DICOMDataSet) -> String? {
        let flag = dataSet.string(DICOMTag(0x0028, 0x0301))?.uppercased()
        if flag == "YES" { return "Burned In Annotation is YES" }
        if flag == "NO" { return nil }
        if let modality = dataSet.string(.modality)?.uppercased(), commonModalities.contains(modality) {
            return "modality \(modality) often has burned-in text"
        }
        if let sopClass = dataSet.string(.sopClassUID), sopClass.hasPrefix("1.2.840.10008.5.1.4.1.1.7") {
            return "a Secondary Capture image often has burned-in text"
        }
        return nil
    }
}
