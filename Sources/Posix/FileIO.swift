#if canImport(Glibc)
import Glibc
#endif

/// Whole-buffer reads and writes on file descriptors, retried on `EINTR` and short counts.
public enum FileIO {
    /// Writes all of `text` to `fd` (standard error by default); gives up silently on a closed or broken stream.
    public static func write(_ text: String, to fd: Int32 = STDERR_FILENO) {
        var bytes = Array(text.utf8)
        var offset = 0
        bytes.withUnsafeMutableBytes { buffer in
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// Reads `path` to its end whatever `stat` says (files in /proc report size 0); nil with `errno` set on failure.
    public static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
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
