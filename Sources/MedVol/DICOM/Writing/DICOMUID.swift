/// DICOM unique identifiers: new ones, and medvol's own.
public enum DICOMUID {
    /// medvol's Implementation Class UID (file meta (0002,0012)): a UUID-derived UID (PS3.5 B.2) made
    /// once for medvol from UUID 09b46a5e-8119-4137-8438-c24615cd24f0, so that medvol needs no
    /// registered root.
    public static let implementationClass = "2.25.12899822819419872637546193877350556912"

    /// medvol's Implementation Version Name (file meta (0002,0013), at most 16 characters).
    public static let implementationVersionName = "MEDVOL_0.1"

    /// A new UID: "2.25." followed by the decimal value of a random (version 4) UUID, as PS3.5 B.2
    /// describes — at most 44 characters, unique without a registered root.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// A UID from the given generator (deterministic with a seeded generator, for tests).
    public static func generate<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        // RFC 4122 version 4 (random) and variant 10xx bits.
        high = (high & ~0xF000) | 0x4000
        low = (low & ~(UInt64(0xC) << 60)) | (UInt64(0x8) << 60)
        let value = UInt128(high) << 64 | UInt128(low)
        return "2.25.\(value)"
    }

    /// Whether `uid` is a valid UID: at most 64 characters, components of digits separated by dots,
    /// no empty component, no leading zero in a component of more than one digit (PS3.5 §9.1).
    public static func isValid(_ uid: String) -> Bool {
        guard !uid.isEmpty, uid.utf8.count <= 64 else { return false }
        for component in uid.split(separator: ".", omittingEmptySubsequences: false) {
            guard !component.isEmpty, component.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            if component.count > 1 && component.first == "0" { return false }
        }
        return true
    }
}
