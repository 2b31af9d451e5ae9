package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/nomosauth/nomosauth/internal/problem"
)

// MaxParamsBody bounds a form or JSON request body of the OAuth endpoints;
// no legitimate token request comes near it (PRODUCT S4).
const MaxParamsBody = 16 << 10

// ReadParams decodes a request body of flat string parameters, as
// application/x-www-form-urlencoded or application/json (PRODUCT T2). Any
// other media type, a repeated parameter, a body over max, a non-string JSON
// value or malformed input is invalid_request.
func ReadParams(w http.ResponseWriter, r *http.Request, max int64) (url.Values, error) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, problem.InvalidRequest("Content-Type must be application/x-www-form-urlencoded or application/json")
	}
	body, err := ReadBody(w, r, max)
	if err != nil {
		return nil, problem.InvalidRequest(err.Error())
	}
	switch mediaType {
	case "application/x-www-form-urlencoded":
		return parseForm(string(body))
	case "application/json":
		return parseFlatJSON(body)
	}
	return nil, problem.InvalidRequest("Content-Type must be application/x-www-form-urlencoded or application/json")
}

func parseForm(body string) (url.Values, error) {
	values, err := url.ParseQuery(body)
	if err != nil {
		return nil, problem.InvalidRequest("request body is not valid form encoding")
	}
	for name, vs := range values {
		if len(vs) > 1 {
			// RFC 6749 §3.2: parameters must not be included more than once.
			return nil, problem.InvalidRequest("parameter " + problem.Quote(name) + " is repeated")
		}
	}
	return values, nil
}

// parseFlatJSON reads one object of string members.
func parseFlatJSON(body []byte) (url.Values, error) {
	obj, err := DecodeObject(body)
	var repeated *RepeatedKeyError
	if errors.As(err, &repeated) {
		return nil, problem.InvalidRequest("parameter " + problem.Quote(repeated.Key) + " is repeated")
	}
	bad := problem.InvalidRequest("request body must be a JSON object of string values")
	if err != nil {
		return nil, bad
	}
	values := url.Values{}
	for key, raw := range obj {
		var val string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &val) != nil {
			return nil, bad
		}
		values.Set(key, val)
	}
	return values, nil
}

// errBodyTooLarge and errBodyUnreadable are what ReadBody reports; their
// text is safe to show.
var (
	errBodyTooLarge   = errors.New("request body is too large")
	errBodyUnreadable = errors.New("request body could not be read")
)

// ReadBody reads a request body of at most max bytes (PRODUCT S4). Its
// errors say which limit was hit, in words safe to show the client.
func ReadBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, errBodyTooLarge
	case err != nil:
		return nil, errBodyUnreadable // the client went away mid-body
	}
	return body, nil
}

// RepeatedKeyError is DecodeObject's answer to a key given twice.
type RepeatedKeyError struct{ Key string }

func (e *RepeatedKeyError) Error() string { return "key " + problem.Quote(e.Key) + " is repeated" }

var errNotObject = errors.New("not a JSON object")

// DecodeObject reads exactly one JSON object and returns its members
// undecoded. A repeated key is a *RepeatedKeyError: encoding/json would
// silently keep the last one, and two parsers disagreeing on which value
// counts is how smuggled parameters get through.
func DecodeObject(body []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotObject
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return nil, errNotObject
		}
		key := keyTok.(string) // inside an object, this token is a key
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, errNotObject
		}
		if _, dup := out[key]; dup {
			return nil, &RepeatedKeyError{Key: key}
		}
		out[key] = val
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject
	}
	return out, nil
}
