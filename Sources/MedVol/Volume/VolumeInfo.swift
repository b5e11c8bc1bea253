/// A volume described without its voxels: geometry, voxel type and metadata — what `medvol info` shows,
/// known for DICOM from headers alone (see ``DICOMStack/volumeInfo(options:)``).
public struct VolumeInfo: Sendable {
    public var geometry: ImageGeometry
    public var pixelType: PixelType
    public var components: Int
    public var metadata: VolumeMetadata

    public init(geometry: ImageGeometry, pixelType: PixelType, components: Int = 1, metadata: VolumeMetadata = VolumeMetadata()) {
        self.geometry = geometry
        self.pixelType = pixelType
        self.components = components
        self.metadata = metadata
    }

    /// The description of a loaded volume.
    public init(_ volume: Volume) {
        self.init(geometry: volume.geometry, pixelType: volume.pixelType, components: volume.components, metadata: volume.metadata)
    }
}
