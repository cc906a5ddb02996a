package console

// EncodeUserCursor is encodeUserCursor, for the benchmarks.
var EncodeUserCursor = encodeUserCursor
