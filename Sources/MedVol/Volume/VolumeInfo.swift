/// A volume described without its voxels: geometry, voxel type and metadata — what `medvol info` shows,
/// known for DICOM from headers alone (see ``DICOMStack/volumeInfo(options:)``).
public struct VolumeInfo: Sendable {
    /// Size, spacing, origin, direction (and time spacing for 4D).
    public var geometry: ImageGeometry
    /// The type of one voxel component.
    public var pixelType: PixelType
    /// Components per voxel: 1 for grey values, 3 for RGB.
    public var components: Int
    /// Where the volume comes from and what was noticed on the way.
    public var metadata: VolumeMetadata

    /// A description from its geometry, voxel type, components per voxel and metadata.
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
