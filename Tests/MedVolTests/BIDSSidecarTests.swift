@testable import MedVol
import Testing

@Suite("BIDS sidecar and diffusion tables")
struct BIDSSidecarTests {
    @Test func siemensProtocolLines() throws {
        let text = """
            ### ASCCONV BEGIN object=MrProtDataImpl@MrProtocolData ###
            tSequenceFileName                        = ""%SiemensSeq%\\ep2d_bold""
            sKSpace.ucPhasePartialFourier            = 0x10
            sPat.lAccelFactPE                        = 2
            sTXSPEC.asNucleusInfo[0].flReferenceAmplitude = 399.953\t# a comment
            ### ASCCONV END ###
            after                                    = 7
            """
        let parsed = try #require(SiemensProtocol(text))
        #expect(parsed.string("tSequenceFileName") == "%SiemensSeq%\\ep2d_bold")
        #expect(parsed.number("sKSpace.ucPhasePartialFourier") == 16)
        #expect(parsed.number("sPat.lAccelFactPE") == 2)
        #expect(parsed.number("sTXSPEC.asNucleusInfo[0].flReferenceAmplitude") == 399.953)
        #expect(parsed.number("after") == nil)
        #expect(SiemensProtocol("no protocol here") == nil)
    }

    @Test func acquisitionTimeAsBIDSWritesIt() {
        #expect(DICOMStack.formattedTime("135110.87") == "13:51:10.870000")
        #expect(DICOMStack.formattedTime("001812") == "00:18:12.000000")
        #expect(DICOMStack.formattedTime("13:57:01.9075") == "13:57:01.907500")
        #expect(DICOMStack.formattedTime("1351") == nil)
    }

    @Test func sidecarJSONHasOnlyKnownFieldsWholeNumbersAsIntegers() {
        var sidecar = BIDSSidecar()
        sidecar.repetitionTime = 3
        sidecar.echoTime = 0.03
        sidecar.phaseEncodingDirection = "j-"
        sidecar.sliceTiming = [0, 1.5, -0.0]
        sidecar.nonlinearGradientCorrection = false
        #expect(sidecar.json.compactText ==
            #"{"NonlinearGradientCorrection":false,"EchoTime":0.03,"RepetitionTime":3,"PhaseEncodingDirection":"j-","SliceTiming":[0,1.5,0],"ConversionSoftware":"medvol"}"#)
    }

    @Test func philipsFieldsInTheJSON() {
        var sidecar = BIDSSidecar()
        sidecar.echoTrainLength = 37
        sidecar.waterFatShift = 11.5
        sidecar.philipsRescaleSlope = 1.25
        sidecar.philipsRescaleIntercept = -4
        sidecar.philipsScaleSlope = 0.5
        sidecar.usePhilipsFloatNotDisplayScaling = 0
        #expect(sidecar.json.compactText ==
            #"{"EchoTrainLength":37,"WaterFatShift":11.5,"PhilipsRescaleSlope":1.25,"PhilipsRescaleIntercept":-4,"PhilipsScaleSlope":0.5,"UsePhilipsFloatNotDisplayScaling":0,"ConversionSoftware":"medvol"}"#)
    }

    /// Gradients in LPS into FSL's voxel-axis tables: the image's axes are the direction's columns, and x is
    /// negated when the voxel-to-world matrix has a positive determinant.
    @Test func fslTablesInTheImageAxes() {
        let encodings = [DiffusionEncoding(bValue: 0, gradient: .zero),
                         DiffusionEncoding(bValue: 1000, gradient: SIMD3(0, 0, 1)),
                         DiffusionEncoding(bValue: 1000, gradient: SIMD3(0.6, 0.8, 0))]
        // Sagittal: i along +y (A→P), j along −z, k along −x; determinant +1.
        let sagittal = ImageGeometry(size: [4, 4, 3], direction: DirectionMatrix(columns: SIMD3(0, 1, 0), SIMD3(0, 0, -1), SIMD3(-1, 0, 0)))
        let (bval, bvec) = DICOMStack.fslGradientTables(encodings, geometry: sagittal)
        #expect(bval == "0 1000 1000\n")
        #expect(bvec == "0 0 -0.8\n0 -1 0\n0 0 -0.6\n")
        // Axial identity (determinant +1 too): x negated, y and z as they are.
        let axial = ImageGeometry(size: [4, 4, 3])
        #expect(DICOMStack.fslGradientTables(encodings, geometry: axial).bvec == "0 0 -0.6\n0 0 0.8\n0 1 0\n")
    }
}
