@testable import MedVol
import Testing

@Suite("JSONValue and infoJSON")
struct FormatsJSONTests {
    @Test func compactPrinting() {
        let value: JSONValue = [
            "size": [512, 512, 300], "spacing": [0.8, 0.8, 2.5], "tiny": 1e-05, "big": 1e20, "whole": 2.0,
            "negative": -0.0625, "nan": .number(.nan), "inf": .number(-.infinity), "flag": true, "none": nil,
            "text": "a \"quoted\" \\ line\nwith\ttab and \u{01} and é",
        ]
        #expect(value.compactText == #"{"size":[512,512,300],"spacing":[0.8,0.8,2.5],"tiny":1e-05,"big":1e+20,"whole":2.0,"negative":-0.0625,"nan":null,"inf":null,"flag":true,"none":null,"text":"a \"quoted\" \\ line\nwith\ttab and \u0001 and é"}"#)
    }

    @Test func prettyPrinting() {
        let value: JSONValue = [
            "size": [2, 3, 4], "empty": [], "nested": ["a": 1, "b": [["center": 40, "width": 400]]],
            "none": .object([:]),
        ]
        #expect(value.prettyText == """
            {
              "size": [2, 3, 4],
              "empty": [],
              "nested": {
                "a": 1,
                "b": [
                  {
                    "center": 40,
                    "width": 400
                  }
                ]
              },
              "none": {}
            }
            """)
    }

    @Test("long arrays of strings go one per line; numbers stay on one line")
    func prettyLongArrays() {
        let warnings = JSONValue.array((0..<3).map { .string("warning number \($0) is long enough to wrap the line") })
        let numbers = JSONValue.array((0..<9).map { .number(Double($0) + 0.123456789012345) })
        let text = JSONValue.object(["warnings": warnings, "direction": numbers]).prettyText
        #expect(text.split(separator: "\n").count == 8)
        #expect(text.contains(#""direction": [0.123456789012345, 1.123456789012345, "#))
    }

    @Test func parsing() throws {
        let text = #" { "b": [1, -2.5, 3e2, -0, 1E-3, true, false, null], "a": "x\u00e9\ud83d\ude00\n\"", "o": {} } "#
        let value = try JSONValue(parsing: text)
        #expect(value.objectValue?.keys == ["b", "a", "o"])  // order kept
        #expect(value["b"] == [1, -2.5, 300.0, 0, 0.001, true, false, nil])
        #expect(value["b"]?.arrayValue?[0] == .integer(1))
        #expect(value["b"]?.arrayValue?[2] == .number(300))
        #expect(value["a"]?.stringValue == "xé😀\n\"")
        #expect(value["o"] == .object([:]))
    }

    @Test("printing then parsing gives the same value")
    func roundTrip() throws {
        let value: JSONValue = ["x": [0.1, .number(1.0 / 3), 123456789.123, -1e-300, .number(Double.leastNonzeroMagnitude), .integer(Int.max)], "s": "tab\t", "n": nil]
        #expect(try JSONValue(parsing: value.compactText) == value)
        #expect(try JSONValue(parsing: value.prettyText) == value)
    }

    @Test("malformed JSON is an error that says where", arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"abc", "\"\\x\"", "tru", "[1] 2", "{\"a\":1,}", "\"\u{01}\"",
        "\"\\ud800\"", "1e", String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
    ])
    func malformed(text: String) {
        let error = medVolError { _ = try JSONValue(parsing: text) }
        #expect(error?.code == .corruptFile)
        #expect(error?.reason.hasPrefix("invalid JSON at byte ") == true)
    }

    @Test func objectEditingKeepsOrder() {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3]
        object["b"] = "two"
        object["d"] = 4
        object["a"] = nil
        #expect(object.keys == ["b", "c", "d"])
        #expect(JSONValue.object(object).compactText == #"{"b":"two","c":3,"d":4}"#)
    }

    @Test("infoJSON has the SPEC's keys in order, exact values")
    func infoJSON() {
        var volume = Volume(pixelType: .int16, geometry: ImageGeometry(
            size: [3, 2, 2, 5], spacing: SIMD3(0.8, 0.8, 2.5), origin: SIMD3(-10, 20.5, 0),
            direction: DirectionMatrix(rowMajor: [1, 0, 0, 0, -1, 0, 0, 0, -1]), timeSpacing: 2))
        volume.metadata.modality = "MR"
        volume.metadata.seriesInstanceUID = "1.2.3"
        volume.metadata.seriesNumber = 7
        volume.metadata.seriesDescription = "bold"
        volume.metadata.studyInstanceUID = "1.2"
        volume.metadata.patientID = "P1"
        volume.metadata.studyDate = "20240102"
        volume.metadata.photometricInterpretation = .monochrome2
        volume.metadata.windows = [DisplayWindow(center: 40, width: 400), DisplayWindow(center: -600, width: 1500, explanation: "LUNG")]
        volume.metadata.pixelPaddingValue = -2000
        volume.metadata.valueTransform = "slope 1 intercept -1024"
        volume.metadata.source = "/data/in"
        volume.metadata.warnings = [.recorded("uneven spacing")]
        #expect(volume.infoJSON.compactText == #"{"size":[3,2,2,5],"spacing":[0.8,0.8,2.5],"origin":[-10.0,20.5,0.0],"direction":[1.0,0.0,0.0,0.0,-1.0,0.0,0.0,0.0,-1.0],"pixelType":"int16","components":1,"timeSpacing":2.0,"orientation":"LAI","modality":"MR","seriesInstanceUID":"1.2.3","seriesNumber":7,"seriesDescription":"bold","studyInstanceUID":"1.2","patientID":"P1","studyDate":"20240102","photometricInterpretation":"MONOCHROME2","windows":[{"center":40.0,"width":400.0},{"center":-600.0,"width":1500.0,"explanation":"LUNG"}],"pixelPaddingValue":-2000.0,"valueTransform":"slope 1 intercept -1024","source":"/data/in","warnings":["uneven spacing"]}"#)
    }

    @Test("infoJSON of a bare volume has only the geometry keys")
    func bareInfoJSON() {
        let volume = Volume(pixelType: .uint8, components: 3, geometry: ImageGeometry(size: [1, 1, 1]))
        #expect(volume.infoJSON.objectValue?.keys == ["size", "spacing", "origin", "direction", "pixelType", "components", "orientation"])
        #expect(volume.infoJSON["components"] == 3)
        #expect(volume.infoJSON["pixelType"] == "uint8")
    }

    @Test("the description read back from infoJSON restores geometry and metadata")
    func descriptionRoundTrip() throws {
        var volume = FormatFixtures.volume(.float32, geometry: FormatFixtures.obliqueGeometry4D)
        volume.metadata.seriesNumber = 3
        volume.metadata.windows = [DisplayWindow(center: 1, width: 2, explanation: "A")]
        volume.metadata.warnings = [.recorded("w1"), .stack(.noPixelSpacing)]
        volume.metadata.pixelPaddingValue = -1
        let description = try VolumeDescription(json: try JSONValue(parsing: volume.infoJSON.prettyText), path: "x.json")
        #expect(description.geometry == volume.geometry)  // exact: shortest round-trip printing
        #expect(description.components == 1)
        #expect(description.pixelType == .float32)
        #expect(description.metadata.modality == "CT")
        #expect(description.metadata.seriesNumber == 3)
        #expect(description.metadata.windows == volume.metadata.windows)
        #expect(description.metadata.warnings == [.recorded("w1"), .recorded("no Pixel Spacing: in-plane spacing 1 mm assumed")])
        #expect(description.metadata.pixelPaddingValue == -1)
    }

    @Test("bad sidecars are errors that name the sidecar", arguments: [
        #"[]"#, #"{"spacing":[1,1,1],"origin":[0,0,0],"direction":[1,0,0,0,1,0,0,0,1]}"#,
        #"{"size":[2,2],"spacing":[1,1,1],"origin":[0,0,0],"direction":[1,0,0,0,1,0,0,0,1]}"#,
        #"{"size":[2,2,0],"spacing":[1,1,1],"origin":[0,0,0],"direction":[1,0,0,0,1,0,0,0,1]}"#,
        #"{"size":[2,2,2],"spacing":[1,0,1],"origin":[0,0,0],"direction":[1,0,0,0,1,0,0,0,1]}"#,
        #"{"size":[2,2,2],"spacing":[1,1,1],"origin":[0,"a",0],"direction":[1,0,0,0,1,0,0,0,1]}"#,
        #"{"size":[2,2,2],"spacing":[1,1,1],"origin":[0,0,0],"direction":[1,0,0,1,0,0,0,0,1]}"#,
        #"{"size":[2,2,2],"spacing":[1,1,1],"origin":[0,0,0],"direction":[1,0,0,0,1,0,0,0,1],"pixelType":"int12"}"#,
        #"{"size":[2,2,2],"spacing":[1,1,1],"origin":[0,0,0],"direction":[1,0,0,0,1,0,0,0,1],"components":0}"#,
    ])
    func badSidecar(text: String) {
        let error = medVolError { _ = try VolumeDescription(json: try JSONValue(parsing: text), path: "/d/x.json") }
        #expect(error?.code == .corruptFile)
        #expect(error?.path == "/d/x.json")
    }
}
