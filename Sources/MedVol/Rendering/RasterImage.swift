/// An 8-bit picture for people to look at: grey (one channel) or RGB (three, interleaved), rows from
/// top to bottom. What `medvol export` and `medvol preview` write as PNG or JPEG.
public struct RasterImage: Sendable, Hashable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// 1 for grey, 3 for RGB.
    public let channels: Int
    /// `width × height × channels` bytes, row by row from the top, channels interleaved.
    public var pixels: [UInt8]

    /// A picture filled with `fill` (every channel).
    public init(width: Int, height: Int, channels: Int = 1, fill: UInt8 = 0) {
        precondition(width >= 1 && height >= 1, "a picture holds at least one pixel")
        precondition(channels == 1 || channels == 3, "pictures are grey (1 channel) or RGB (3)")
        self.width = width
        self.height = height
        self.channels = channels
        pixels = [UInt8](repeating: fill, count: width * height * channels)
    }

    /// A picture from its bytes: `width × height × channels` of them, row by row from the top, channels
    /// interleaved; `channels` is 1 (grey) or 3 (RGB).
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "pictures are grey (1 channel) or RGB (3)")
        precondition(pixels.count == width * height * channels, "pixel count does not match the size")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The value of channel `channel` at column `x`, row `y` (row 0 at the top).
    public subscript(x: Int, y: Int, channel: Int = 0) -> UInt8 {
        get { pixels[(y * width + x) * channels + channel] }
        set { pixels[(y * width + x) * channels + channel] = newValue }
    }

    /// Sets every channel of pixel (x, y) to `value`, ignoring positions outside the picture.
    mutating func plot(_ x: Int, _ y: Int, _ value: UInt8) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let base = (y * width + x) * channels
        for channel in 0..<channels { pixels[base + channel] = value }
    }

    /// The same picture with three channels (grey copied into R, G and B).
    public func asRGB() -> RasterImage {
        guard channels == 1 else { return self }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for index in 0..<width * height {
            let value = pixels[index]
            rgb[3 * index] = value
            rgb[3 * index + 1] = value
            rgb[3 * index + 2] = value
        }
        return RasterImage(width: width, height: height, channels: 3, pixels: rgb)
    }

    /// Copies `image` with its top-left corner at (x, y); parts outside are clipped. Grey images
    /// pasted into RGB ones become grey RGB; RGB pasted into grey is not allowed.
    public mutating func paste(_ image: RasterImage, x: Int, y: Int) {
        precondition(image.channels <= channels, "convert the picture to RGB before pasting colour into it")
        for row in 0..<image.height {
            let targetY = y + row
            guard targetY >= 0, targetY < height else { continue }
            for column in 0..<image.width {
                let targetX = x + column
                guard targetX >= 0, targetX < width else { continue }
                let source = (row * image.width + column) * image.channels
                let target = (targetY * width + targetX) * channels
                for channel in 0..<channels {
                    pixels[target + channel] = image.pixels[source + min(channel, image.channels - 1)]
                }
            }
        }
    }
}
