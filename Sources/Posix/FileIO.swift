#if canImport(Glibc)
import Glibc
#endif

/// Whole-buffer reads and writes on file descriptors, retried on `EINTR` and short counts.
public enum FileIO {
    /// Writes all of `text` to `fd` (standard error by default); gives up silently on a closed or broken stream.
    public static func write(_ text: String, to fd: Int32 = STDERR_FILENO) {
        _ = Array(text.utf8).withUnsafeBytes { writeAll(fd, $0) }
    }

    /// Writes all of `buffer` to `fd`; 0, or the `errno` of the write that failed (`EIO` for one that wrote nothing).
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return n < 0 ? errno : EIO
            }
        }
        return 0
    }

    /// Reads `path` to its end whatever `stat` says (files in /proc report size 0); nil with `errno` set on failure.
    public static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd)
    }

    /// Reads an open `fd` to its end; nil with `errno` set on failure.
    public static func readAll(_ fd: Int32) -> [UInt8]? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                out += chunk[0..<n]
            } else if n == 0 {
                return out
            } else if errno != EINTR {
                return nil
            }
        }
    }
}
