/// Something a reader noticed about a volume that does not stop it from being read. Its `description`
/// is the text the CLI prints and the `.json` sidecar records.
public enum VolumeWarning: Sendable, Hashable, CustomStringConvertible {
    /// An irregularity of the DICOM stack the volume was assembled from.
    case stack(StackWarning)
    /// The fourth axis of a 4D file starts at `origin`, not 0; only its spacing is kept.
    case timeOriginIgnored(Double)
    /// A `.npy` without its `.json` geometry sidecar at `sidecar`: spacing 1, origin 0, identity direction.
    case noGeometrySidecar(sidecar: String)
    /// A `.npz` that lacks the geometry arrays `names`: their defaults (spacing 1, origin 0, identity
    /// direction) are used.
    case missingGeometryArrays(path: String, names: [String])
    /// A 4-axis `.npz` image without `timeSpacing`: read as (nt, nz, ny, nx) with time spacing 1.
    case fourAxesWithoutTimeSpacing(path: String)
    /// ITK printed `message` while reading the file's header.
    case itkMessage(String)
    /// A warning recorded as text in a sidecar that medvol wrote earlier.
    case recorded(String)

    /// The warning as the CLI prints it and the `.json` sidecar records it.
    public var description: String {
        switch self {
        case .stack(let warning): return warning.description
        case .timeOriginIgnored(let origin): return "the fourth axis starts at \(origin), not 0; medvol keeps only its spacing"
        case .noGeometrySidecar(let sidecar): return "no geometry sidecar \(sidecar): spacing 1, origin 0, identity direction assumed"
        case let .missingGeometryArrays(path, names):
            return "\(path) has no \(names.joined(separator: ", ")) array: spacing 1, origin 0, identity direction assumed where missing"
        case .fourAxesWithoutTimeSpacing(let path): return "\(path): 4-axis image without 'timeSpacing': read as (nt, nz, ny, nx) with time spacing 1"
        case .itkMessage(let message): return "ITK printed while reading the header: \(message)"
        case .recorded(let text): return text
        }
    }
}
