/// One picture that shows a whole volume: axial, coronal and sagittal slices through its centre side
/// by side, on a common scale (millimetres per pixel), with the patient directions at the edges of
/// each panel and a one-line caption (size, spacing, voxel type, orientation, window). A 4D volume is
/// shown by its first volume.
public struct VolumePreview: Sendable {
    /// Panels are scaled so that the largest panel side falls in this range (pixels).
    public var panelSide: ClosedRange<Int> = 256...512
    /// Pixels between panels and around the picture.
    public var gap = 8

    /// A preview with panels of 256…512 pixels and 8-pixel gaps.
    public init() {}

    /// The picture of `volume` under `mapping`.
    public func render(_ volume: Volume, mapping: DisplayMapping) -> RasterImage {
        let geometry = volume.geometry
        let layouts = ViewPlane.allCases.map { PlaneLayout(plane: $0, geometry: geometry) }

        // A common pixel size: the finest spacing, changed so that the largest panel fits panelSide.
        let spacing = geometry.spacing
        let finest = min(spacing.x, spacing.y, spacing.z)
        var largest = 0.0
        for layout in layouts {
            largest = max(largest, Double(geometry.size[layout.across.axis]) * spacing[layout.across.axis],
                          Double(geometry.size[layout.down.axis]) * spacing[layout.down.axis])
        }
        let naturalSide = largest / finest
        let side = min(Double(panelSide.upperBound), max(Double(panelSide.lowerBound), naturalSide))
        let pixelSize = largest / side

        let panels = layouts.map { layout -> (RasterImage, PlaneLayout) in
            let renderer = SliceRenderer(volume: volume, layout: layout, mapping: mapping, pixelSize: pixelSize)
            return (renderer.render(slice: renderer.sliceCount / 2, timePoint: 0), layout)
        }

        let channels = panels.contains { $0.0.channels == 3 } ? 3 : 1
        let captionText = caption(volume, mapping: mapping)
        let panelsWidth = panels.reduce(0) { $0 + $1.0.width } + gap * (panels.count + 1)
        let captionScale = BitmapFont.width(of: captionText, scale: 2) + 2 * gap <= panelsWidth ? 2 : 1
        let width = max(panelsWidth, BitmapFont.width(of: captionText, scale: captionScale) + 2 * gap)
        let rowHeight = panels.map(\.0.height).max() ?? 1
        let captionHeight = BitmapFont.glyphHeight * captionScale + gap
        let height = gap + rowHeight + gap + captionHeight

        var picture = RasterImage(width: width, height: height, channels: channels)
        var x = gap + (width - panelsWidth) / 2
        for (panel, layout) in panels {
            var labelled = channels == 3 ? panel.asRGB() : panel
            label(&labelled, layout: layout, geometry: geometry)
            picture.paste(labelled, x: x, y: gap + (rowHeight - panel.height) / 2)
            x += panel.width + gap
        }
        picture.drawText(captionText, x: gap, y: gap + rowHeight + gap, scale: captionScale, value: 255)
        return picture
    }

    /// Plane name at the top left, patient directions at the middle of each edge.
    private func label(_ panel: inout RasterImage, layout: PlaneLayout, geometry: ImageGeometry) {
        let letters = layout.edgeLabels(geometry)
        let h = BitmapFont.glyphHeight, w = BitmapFont.glyphWidth
        let midX = (panel.width - w) / 2, midY = (panel.height - h) / 2
        if panel.width >= 3 * w && panel.height >= 3 * h {
            panel.drawText(letters.left, x: 2, y: midY, outline: true)
            panel.drawText(letters.right, x: panel.width - w - 2, y: midY, outline: true)
            panel.drawText(letters.top, x: midX, y: 2, outline: true)
            panel.drawText(letters.bottom, x: midX, y: panel.height - h - 2, outline: true)
        }
        if panel.width >= BitmapFont.width(of: layout.plane.rawValue) + 24 && panel.height >= 4 * h {
            panel.drawText(layout.plane.rawValue, x: 3, y: 3, outline: true)
        }
    }

    /// "256×256×64 · 0.7×0.7×1.25 mm · int16 · LPS · window 40/400 (abdomen)".
    public func caption(_ volume: Volume, mapping: DisplayMapping) -> String {
        let geometry = volume.geometry
        var size = geometry.size.map(String.init).joined(separator: "×")
        if geometry.isFourDimensional { size += " (volume 1 shown)" }
        let spacing = [geometry.spacing.x, geometry.spacing.y, geometry.spacing.z].map(shortNumber).joined(separator: "×") + " mm"
        let type = volume.pixelType.rawValue + (volume.components > 1 ? "×\(volume.components)" : "")
        var parts = [size, spacing, type, geometry.orientationCode, mapping.summary]
        if mapping.inverted { parts.append("MONOCHROME1 inverted") }
        return parts.joined(separator: " · ")
    }
}
