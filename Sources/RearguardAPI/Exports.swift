// The HTTP/1 client and its transport errors are part of the API's surface (`AgentClient` answers, `APIError`).
@_exported import HTTP1
