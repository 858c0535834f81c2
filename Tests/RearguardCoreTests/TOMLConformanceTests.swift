import Foundation
import RearguardCore
import Testing
import TestSupport

/// Rearguard's own TOML reader against Python's `tomllib` (the standard library's TOML 1.0 parser): every document
/// below must read to the same values in both, and every broken one must be refused by both.
struct TOMLConformanceTests {
    static let valid: [String] = [
        "",
        "# only a comment\n",
        "a = 1\nb = -2\nc = +3\nd = 0\ne = 1_000_000\nf = -0\n",
        "h = 0xDEAD_beef\no = 0o755\nb = 0b1101_0101\nmax = 9223372036854775807\nmin = -9223372036854775808\n",
        "f1 = 1.0\nf2 = -3.14\nf3 = 5e+22\nf4 = 1e06\nf5 = -2E-2\nf6 = 6.626e-34\nf7 = 224_617.445_991\nf8 = 0.0\nf9 = -0.0\n",
        "i1 = inf\ni2 = +inf\ni3 = -inf\nn1 = nan\nn2 = -nan\n",
        "t = true\nf = false\n",
        #"s = "I'm a string. \"You can quote me\". Name\tJos\u00E9\nLocation\tSF.""#,
        #"s = "\b\t\n\f\r\"\\ \U0001F600 \u00e9""#,
        "s = \"\"\"\nRoses are red\nViolets are blue\"\"\"\n",
        "s = \"\"\"\nThe quick brown \\\n\n\n  fox jumps over \\\n    the lazy dog.\"\"\"\n",
        "s = \"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"\n",
        "s = \"\"\"Here are fifteen quotation marks: \"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\".\"\"\"\n",
        "s = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"\n",
        "winpath = 'C:\\Users\\nodejs\\templates'\nquoted = 'Tom \"Dubs\" Preston-Werner'\nregex = '<\\i\\c*\\s*>'\n",
        "re = '''I [dw]on't need \\d{2} apples'''\nlines = '''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n'''\n",
        "q = '''Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"'''\napos = ''''That,' she said, 'is still pointless.''''\n",
        "key = \"value\"\nbare_key = \"value\"\nbare-key = \"value\"\n1234 = \"value\"\n",
        "\"127.0.0.1\" = \"value\"\n\"character encoding\" = \"value\"\n'key2' = \"value\"\n'quoted \"value\"' = \"value\"\n\"\" = \"blank\"\n",
        "name = \"Orange\"\nphysical.color = \"orange\"\nphysical.shape = \"round\"\nsite.\"google.com\" = true\n",
        "fruit.name = \"banana\"\nfruit. color = \"yellow\"\nfruit . flavor = \"banana\"\n",
        "apple.type = \"fruit\"\norange.type = \"fruit\"\napple.skin = \"thin\"\norange.skin = \"thick\"\n",
        "3.14159 = \"pi\"\n",
        "[table-1]\nkey1 = \"some string\"\nkey2 = 123\n\n[table-2]\nkey1 = \"another string\"\nkey2 = 456\n",
        "[dog.\"tater.man\"]\ntype.name = \"pug\"\n",
        "[a.b.c]\n[ d.e.f ]\n[ g .  h  . i ]\n[ j . \"ʞ\" . 'l' ]\n",
        "[x.y.z.w]\n[x]\n",
        "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n",
        "[[products]]\nname = \"Hammer\"\nsku = 738594937\n\n[[products]]\n\n[[products]]\nname = \"Nail\"\ncolor = \"gray\"\n",
        "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n[[fruits.varieties]]\nname = \"red delicious\"\n[[fruits.varieties]]\nname = \"granny smith\"\n\n[[fruits]]\nname = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"\n",
        "points = [ { x = 1, y = 2, z = 3 },\n           { x = 7, y = 8, z = 9 },\n           { x = 2, y = 4, z = 8 } ]\n",
        "name = { first = \"Tom\", last = \"Preston-Werner\" }\npoint = { x = 1, y = 2 }\nanimal = { type.name = \"pug\" }\nempty = {}\n",
        "integers = [ 1, 2, 3 ]\ncolors = [ \"red\", \"yellow\", \"green\" ]\nnested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]\nnested_mixed_array = [ [ 1, 2 ], [\"a\", \"b\", \"c\"] ]\nstring_array = [ \"all\", 'strings', \"\"\"are the same\"\"\", '''type''' ]\nnumbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]\n",
        "integers2 = [\n  1, 2, 3\n]\nintegers3 = [\n  1,\n  2, # this is ok\n]\nempty = [ ]\ncommented = [ # hi\n # there\n]\n",
        "odt1 = 1979-05-27T07:32:00Z\nodt2 = 1979-05-27T00:32:00-07:00\nodt3 = 1979-05-27T00:32:00.999999-07:00\nodt4 = 1979-05-27 07:32:00Z\nodt5 = 1979-05-27t07:32:00z\n",
        "ldt1 = 1979-05-27T07:32:00\nldt2 = 1979-05-27T00:32:00.999999\nld1 = 1979-05-27\nlt1 = 07:32:00\nlt2 = 00:32:00.999999\nleap = 2024-02-29\n",
        "a = 1 # trailing comment\n[b] # after a header\nc = \"#not a comment\"\n",
        "crlf = 1\r\nother = \"x\"\r\n[t]\r\nk = '''a\r\nb'''\r\n",
        "\t indented\t=\t\"tabs\"\t\n",
        "[[a]]\n[a.b]\nc = 1\n[[a]]\n[a.b]\nc = 2\n",
        "a.b.c = 1\na.d = 2\n[e]\nf.g = 3\n",
        "unicode = \"ü ∂ 日本\"\n\"ключ\" = 'значение'\n",
        "t = { a = [ 1, { b = 2 } ], c.d = \"x\" }\n",
        "[check]\nname = \"dns\"\n[[list]]\n",
        "[a.b.c]\nx = 1\n[a]\nb.d = 1\n",
        // The shapes Rearguard's own config and Zincati's drop-ins use.
        """
        [host]
        sysroot = "/sysroot"
        [assessment]
        soak = "10m"
        max_reboots_per_day = 1
        inhibit_while_failing = true

        [[check]]
        name = "dns"
        kind = "dns"
        server = "127.0.0.1:53"
        expect_answers = ["192.0.2.1", "192.0.2.2"]
        required = true

        [[check]]
        name = "probe"
        kind = "command"
        command = ["/usr/bin/true", "--flag"]

        """,
        """
        [updates]
        strategy = "fleet_lock"
        [updates.fleet_lock]
        base_url = "http://10.0.0.1:8080/"
        [identity]
        group = "workers"
        """,
    ]

    static let invalid: [String] = [
        "a = \n",
        "= 1\n",
        "a = 1 b = 2\n",
        "a = 1\na = 2\n",
        "a.b = 1\na.b = 2\n",
        "a = 1\na.b = 2\n",
        "[a]\nb = 1\n[a]\nc = 2\n",
        "[a]\n[a]\n",
        "[a.b]\n[a]\nb = 1\n",
        "[fruit]\napple.color = \"red\"\n[fruit.apple]\n",
        "[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]\n",
        "[a]\nb.c = 1\n[a.b]\n",
        "[[a]]\n[a]\n",
        "a = []\n[[a]]\n",
        "a = {}\n[a]\n",
        "a = { b = 1 }\na.c = 2\n",
        "a = { b = 1, }\n",
        "a = { b = 1\n}\n",
        "a = { b = 1, b = 2 }\n",
        "[a\n",
        "[a]]\n",
        "[[a]\n",
        "[]\n",
        "a = 01\n",
        "a = 1__2\n",
        "a = _1\n",
        "a = 1_\n",
        "a = 0x\n",
        "a = +0x10\n",
        "a = 0xG\n",
        "a = 1.\n",
        "a = .5\n",
        "a = 1e\n",
        "a = 1.e5\n",
        "a = 03.14\n",
        "a = 1._5\n",
        "a = True\n",
        "a = \"unterminated\n",
        "a = \"bad \\q escape\"\n",
        "a = \"\\uD800\"\n",
        "a = \"\\u12\"\n",
        "a = 'single\nline'\n",
        "a = \"\"\"open\n",
        "a = '''open\n",
        "a = [1, 2\n",
        "a = [1,,2]\n",
        "a = [,]\n",
        "a = 1979-13-27\n",
        "a = 1979-02-30\n",
        "a = 2023-02-29\n",
        "a = 1979-05-27T25:00:00\n",
        "a = 1979-05-27T07:32\n",
        "a = 07:32\n",
        "a = 1979-05-27T07:32:00+7:00\n",
        "a = 1979-05-27T07:32:00.\n",
        "a = \"x\" # \u{0001}control\n",
        "a = 1\rb = 2\n",
        "\"\"\"key\"\"\" = 1\n",
        "a.b.c = 1\n[a.b]\n",
        "[a.b.c]\n[a]\nb.d = 1\n[a.b]\n",
        "bare key = 1\n",
        "a = \"tab ok\" \nb = \"ctl \u{0007}\"\n",
    ]

    /// The value tree in one line: tables with sorted keys, floats by bit pattern, dates by kind and first fields.
    static func canonical(_ value: TOMLValue) -> String {
        switch value {
        case .string(let s): return "s" + quote(s)
        case .integer(let i): return "i\(i)"
        case .float(let f): return f.isNaN ? "fnan" : "f" + String(f.bitPattern, radix: 16)
        case .boolean(let b): return "b\(b)"
        case .dateTime(let text):
            let hasDate = text.count >= 10 && text.dropFirst(4).first == "-"
            let hasTime = text.contains(":")
            let hasOffset = hasDate && hasTime && (text.hasSuffix("Z") || text.dropFirst(19).contains(where: { $0 == "+" || $0 == "-" }))
            let kind = hasOffset ? "odt" : hasDate && hasTime ? "ldt" : hasDate ? "ld" : "lt"
            return "d" + kind + ":" + String(text.prefix(kind == "lt" ? 8 : kind == "ld" ? 10 : 19))
        case .array(let a): return "[" + a.map(canonical).joined(separator: ",") + "]"
        case .table(let t): return canonical(t)
        }
    }

    static func canonical(_ table: TOMLTable) -> String {
        "{" + table.keys.sorted(by: { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) })
            .map { quote($0) + "=" + canonical(table[$0] ?? .boolean(false)) }.joined(separator: ",") + "}"
    }

    static func quote(_ s: String) -> String {
        "\"" + s.unicodeScalars.map { $0 == "\"" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
    }

    static let python = #"""
import json, math, struct, sys, tomllib, datetime
def q(s):
    return '"' + ''.join('\\u{%x}' % ord(c) if c in '"\\' or ord(c) < 0x20 or ord(c) == 0x7f else c for c in s) + '"'
def canon(v):
    if isinstance(v, bool): return 'b' + ('true' if v else 'false')
    if isinstance(v, int): return 'i%d' % v
    if isinstance(v, float): return 'fnan' if math.isnan(v) else 'f' + format(struct.unpack('<Q', struct.pack('<d', v))[0], 'x')
    if isinstance(v, str): return 's' + q(v)
    if isinstance(v, datetime.datetime):
        return 'd' + ('odt' if v.tzinfo else 'ldt') + ':' + v.isoformat()[:19]
    if isinstance(v, datetime.date): return 'dld:' + v.isoformat()[:10]
    if isinstance(v, datetime.time): return 'dlt:' + v.isoformat()[:8]
    if isinstance(v, list): return '[' + ','.join(canon(x) for x in v) + ']'
    if isinstance(v, dict): return '{' + ','.join(q(k) + '=' + canon(v[k]) for k in sorted(v)) + '}'
    raise TypeError(type(v))
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        data = f.read()
    try:
        print(canon(tomllib.loads(data.decode('utf-8'))))
    except Exception as e:
        print('ERROR ' + type(e).__name__)
"""#

    /// What tomllib makes of each document, one line each.
    static func tomllib(_ documents: [String]) async throws -> [String] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("toml-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var paths: [String] = []
        for (index, text) in documents.enumerated() {
            let path = "\(folder)/\(index).toml"
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        try await Shell.require("python3", package: "python3")
        let out = try await Shell.check(["python3", "-c", python] + paths)
        return out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test func everyValidDocumentReadsAsTomllibReadsIt() async throws {
        let expected = try await Self.tomllib(Self.valid)
        #expect(expected.count == Self.valid.count)
        for (text, python) in zip(Self.valid, expected) {
            #expect(!python.hasPrefix("ERROR"), "tomllib refuses a document meant to be valid: \(text.debugDescription)")
            do {
                let ours = Self.canonical(try TOMLTable(parsing: text))
                #expect(ours == python, "\(text.debugDescription)")
            } catch {
                Issue.record("refused \(text.debugDescription): \(error)")
            }
        }
    }

    @Test func everyInvalidDocumentIsRefusedByBothWithALine() async throws {
        let expected = try await Self.tomllib(Self.invalid)
        #expect(expected.count == Self.invalid.count)
        for (text, python) in zip(Self.invalid, expected) {
            #expect(python.hasPrefix("ERROR"), "tomllib accepts a document meant to be invalid: \(text.debugDescription)")
            do {
                let table = try TOMLTable(parsing: text)
                Issue.record("accepted \(text.debugDescription) as \(Self.canonical(table))")
            } catch {
                #expect(error.line >= 1 && error.column >= 1 && !error.reason.isEmpty)
            }
        }
    }

    /// TOML 1.0 lets a reader refuse integers it cannot hold losslessly (Python holds any); ours holds 64 bits.
    @Test func integersBeyondSixtyFourBitsAreRefusedNotWrapped() {
        for text in ["a = 9223372036854775808\n", "a = -9223372036854775809\n", "a = 0x1_0000_0000_0000_0000\n"] {
            #expect(throws: TOMLSyntaxError.self, "\(text.debugDescription)") { try TOMLTable(parsing: text) }
        }
        #expect((try? TOMLTable(parsing: "a = 0x7FFF_FFFF_FFFF_FFFF\n"))?["a"] == .integer(.max))
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = "a = " + String(repeating: "[", count: 100_000) + "\n"
        #expect(throws: TOMLSyntaxError.self) { try TOMLTable(parsing: deep) }
        let fine = "a = " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "\n"
        #expect((try? TOMLTable(parsing: fine)) != nil)
    }

    @Test func theErrorNamesTheLineAndColumn() {
        #expect(throws: TOMLSyntaxError(line: 3, column: 1, reason: "a is defined more than once")) {
            try TOMLTable(parsing: "a = 1\n\na = 2\n")
        }
        #expect(throws: TOMLSyntaxError(line: 2, column: 5, reason: "expected a value")) {
            try TOMLTable(parsing: "x = 1\na = \n")
        }
    }
}
