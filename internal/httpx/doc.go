// Package httpx is the HTTP plumbing shared by every surface: middleware,
// bounded body decoding, JSON writing, the one error writer and the 404/405
// envelope. It imports problem and the standard library.
package httpx
