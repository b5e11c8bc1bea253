import Testing
@testable import MedVol

@Suite("Decimal strings")
struct DecimalTextTests {
    @Test("DS/IS values parse to exactly what Double(String) gives", arguments: [
        "0", "-0", "1", "+1", "-1024", "0.7", "0.69999999999999996", "1e-7", "1.5E+3", "123456789012345",
        "1234567890123456", "3.000000800254083", " 2.5 ", "0.000000000000001", "-123.456789012345", "98765.4321",
        "1e22", "1e23", "1e-22", "1e-23", ".5", "5.", "00012.50",
    ])
    func matchesStandardLibrary(text: String) {
        #expect(DecimalText.number(ArraySlice(text.utf8)) == Double(text.trimmingPadding()))
    }

    @Test("random decimals: the fast path never disagrees")
    func random() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let mantissa = Int64(bitPattern: generator.next()) % 10_000_000_000_000_000
            let exponent = Int(generator.next() % 40) - 20
            let text = "\(mantissa)e\(exponent)"
            #expect(DecimalText.number(ArraySlice(text.utf8)) == Double(text), "\(text)")
            let fixed = String(Double(mantissa) / 1000)
            #expect(DecimalText.number(ArraySlice(fixed.utf8)) == Double(fixed), "\(fixed)")
        }
    }

    @Test("multi-valued, padded, and invalid values")
    func multiValued() {
        #expect(DecimalText.numbers(ArraySlice("0.5\\-0.25\\1e2 ".utf8)) == [0.5, -0.25, 100])
        #expect(DecimalText.numbers(ArraySlice("1\\\\2".utf8)) == [1, 2])
        #expect(DecimalText.numbers(ArraySlice("P1:\\3".utf8)) == [3])
        #expect(DecimalText.numbers(ArraySlice("".utf8)) == [])
    }
}
