extension Volume {
    /// The volume described as one JSON object — what `medvol info --json` prints and what medvol writes
    /// beside a `.npy` file as its `.json` sidecar (pretty-printed).
    ///
    /// Always: `"size"` `[nx, ny, nz]` (or `[nx, ny, nz, nt]`), `"spacing"`, `"origin"`, `"direction"`
    /// (nine numbers, row-major like `SimpleITK.Image.GetDirection()`), `"pixelType"` (NumPy's name),
    /// `"components"`, `"orientation"` ("LPS", …; left out for a direction that is not finite). Then,
    /// when known: `"timeSpacing"` (4D),
    /// `"modality"`, `"seriesInstanceUID"`, `"seriesNumber"`, `"seriesDescription"`,
    /// `"studyInstanceUID"`, `"patientID"`, `"studyDate"`, `"photometricInterpretation"`,
    /// `"windows"` (`[{"center", "width"}]`), `"pixelPaddingValue"`, `"valueTransform"`, `"valueUnits"`,
    /// `"diffusion"` (`[{"bValue", "gradient"}]` per volume, gradients in LPS), `"source"`,
    /// `"warnings"`.
    public var infoJSON: JSONValue { VolumeInfo(self).infoJSON }
}

extension VolumeInfo {
    /// The ``Volume/infoJSON`` object of a volume described without its voxels.
    public var infoJSON: JSONValue {
        func number(_ value: Double) -> JSONValue { .number(value == 0 ? 0 : value) }  // no "-0.0"
        var object = JSONObject()
        object["size"] = .array(geometry.size.map { .integer($0) })
        object["spacing"] = .array([geometry.spacing.x, geometry.spacing.y, geometry.spacing.z].map(number))
        object["origin"] = .array([geometry.origin.x, geometry.origin.y, geometry.origin.z].map(number))
        object["direction"] = .array(geometry.direction.rowMajor.map(number))
        object["pixelType"] = .string(pixelType.rawValue)
        object["components"] = .integer(components)
        if let timeSpacing = geometry.timeSpacing { object["timeSpacing"] = number(timeSpacing) }
        if geometry.direction.rowMajor.allSatisfy(\.isFinite) { object["orientation"] = .string(geometry.orientationCode) }
        if let value = metadata.modality { object["modality"] = .string(value) }
        if let value = metadata.seriesInstanceUID { object["seriesInstanceUID"] = .string(value) }
        if let value = metadata.seriesNumber { object["seriesNumber"] = .integer(value) }
        if let value = metadata.seriesDescription { object["seriesDescription"] = .string(value) }
        if let value = metadata.studyInstanceUID { object["studyInstanceUID"] = .string(value) }
        if let value = metadata.patientID { object["patientID"] = .string(value) }
        if let value = metadata.studyDate { object["studyDate"] = .string(value) }
        if let value = metadata.photometricInterpretation { object["photometricInterpretation"] = .string(value.definedTerm) }
        if !metadata.windows.isEmpty {
            object["windows"] = .array(metadata.windows.map { window in
                var entry: JSONObject = ["center": number(window.center), "width": number(window.width)]
                if let explanation = window.explanation { entry["explanation"] = .string(explanation) }
                return .object(entry)
            })
        }
        if let value = metadata.pixelPaddingValue { object["pixelPaddingValue"] = number(value) }
        if let value = metadata.valueTransform { object["valueTransform"] = .string(value) }
        if let value = metadata.valueUnits { object["valueUnits"] = .string(value) }
        if let value = metadata.valueScaling { object["valueScaling"] = .string(value) }
        if !metadata.otherValueScalings.isEmpty { object["otherValueScalings"] = .array(metadata.otherValueScalings.map { .string($0) }) }
        if let diffusion = metadata.diffusion {
            object["diffusion"] = .array(diffusion.map { encoding in
                .object(["bValue": number(encoding.bValue),
                         "gradient": .array([encoding.gradient.x, encoding.gradient.y, encoding.gradient.z].map(number))])
            })
        }
        if let value = metadata.source { object["source"] = .string(value) }
        if !metadata.warnings.isEmpty { object["warnings"] = .array(metadata.warnings.map { .string($0.description) }) }
        return .object(object)
    }
}

/// What an `infoJSON` object (a `.npy` sidecar) says about a volume, checked.
struct VolumeDescription {
    var geometry: ImageGeometry
    var components: Int
    var pixelType: PixelType?
    var metadata: VolumeMetadata

    /// Reads the object; `path` (the JSON file) is named in every error.
    init(json: JSONValue, path: String) throws {
        func bad(_ reason: String) -> MedVolError { MedVolError.corrupt(path, reason) }
        guard case .object = json else { throw bad("expected a JSON object") }
        func numbers(_ key: String, count: Int) throws -> [Double] {
            guard let array = json[key]?.arrayValue, array.count == count else {
                throw bad("\"\(key)\" must be an array of \(count) numbers")
            }
            return try array.map { element in
                guard let value = element.doubleValue, value.isFinite else { throw bad("\"\(key)\" must hold finite numbers") }
                return value
            }
        }
        guard let sizeArray = json["size"]?.arrayValue, sizeArray.count == 3 || sizeArray.count == 4 else {
            throw bad("\"size\" must be an array of 3 or 4 integers")
        }
        let size = try sizeArray.map { element in
            guard let value = element.intValue, value >= 1 else { throw bad("\"size\" must hold positive integers") }
            return value
        }
        let spacing = try numbers("spacing", count: 3)
        guard spacing.allSatisfy({ $0 > 0 }) else { throw bad("\"spacing\" must be positive") }
        let origin = try numbers("origin", count: 3)
        let direction = DirectionMatrix(rowMajor: try numbers("direction", count: 9))
        guard direction.inverse != nil else { throw bad("\"direction\" is a singular matrix") }
        var timeSpacing: Double?
        if let value = json["timeSpacing"], !value.isNull {
            guard let seconds = value.doubleValue, seconds.isFinite else { throw bad("\"timeSpacing\" must be a number") }
            timeSpacing = seconds
        }
        geometry = ImageGeometry(size: size, spacing: SIMD3(spacing[0], spacing[1], spacing[2]),
                                 origin: SIMD3(origin[0], origin[1], origin[2]), direction: direction,
                                 timeSpacing: timeSpacing)
        if let value = json["components"] {
            guard let count = value.intValue, count >= 1 else { throw bad("\"components\" must be a positive integer") }
            components = count
        } else {
            components = 1
        }
        if let value = json["pixelType"] {
            guard let name = value.stringValue, let type = PixelType(rawValue: name) else {
                throw bad("unknown \"pixelType\" \(value.compactText)")
            }
            pixelType = type
        }

        var metadata = VolumeMetadata()
        func string(_ key: String) throws -> String? {
            guard let value = json[key], !value.isNull else { return nil }
            guard let text = value.stringValue else { throw bad("\"\(key)\" must be a string") }
            return text
        }
        metadata.modality = try string("modality")
        metadata.seriesInstanceUID = try string("seriesInstanceUID")
        metadata.seriesDescription = try string("seriesDescription")
        metadata.studyInstanceUID = try string("studyInstanceUID")
        metadata.patientID = try string("patientID")
        metadata.studyDate = try string("studyDate")
        metadata.photometricInterpretation = try string("photometricInterpretation").map(PhotometricInterpretation.init)
        metadata.valueTransform = try string("valueTransform")
        metadata.valueUnits = try string("valueUnits")
        metadata.valueScaling = try string("valueScaling")
        metadata.source = try string("source")
        if let value = json["seriesNumber"], !value.isNull {
            guard let number = value.intValue else { throw bad("\"seriesNumber\" must be an integer") }
            metadata.seriesNumber = number
        }
        if let value = json["pixelPaddingValue"], !value.isNull {
            guard let number = value.doubleValue else { throw bad("\"pixelPaddingValue\" must be a number") }
            metadata.pixelPaddingValue = number
        }
        if let value = json["windows"], !value.isNull {
            guard let windows = value.arrayValue else { throw bad("\"windows\" must be an array") }
            metadata.windows = try windows.map { window in
                guard let center = window["center"]?.doubleValue, let width = window["width"]?.doubleValue else {
                    throw bad("each of \"windows\" needs a numeric \"center\" and \"width\"")
                }
                return DisplayWindow(center: center, width: width, explanation: window["explanation"]?.stringValue)
            }
        }
        if let value = json["warnings"], !value.isNull {
            guard let warnings = value.arrayValue?.compactMap(\.stringValue) else { throw bad("\"warnings\" must be an array of strings") }
            metadata.warnings = warnings.map(VolumeWarning.recorded)
        }
        self.metadata = metadata
    }

    /// Reads and parses a JSON file.
    init(contentsOf path: String) throws {
        let bytes = try ReadableFile(path: path).readAll()
        let json: JSONValue
        do {
            json = try JSONValue(parsing: bytes)
        } catch let error as MedVolError {
            throw error.at(path)
        }
        try self.init(json: json, path: path)
    }
}
