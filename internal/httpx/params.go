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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, problem.InvalidRequest("request body is too large")
	}
	if err != nil {
		return nil, problem.InvalidRequest("request body could not be read").WithCause(err)
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

// parseFlatJSON reads one object of string members, refusing repeated keys,
// which encoding/json would silently resolve to the last one.
func parseFlatJSON(body []byte) (url.Values, error) {
	bad := problem.InvalidRequest("request body must be a JSON object of string values")
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad
	}
	values := url.Values{}
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		key, _ := keyTok.(string)
		valTok, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		val, ok := valTok.(string)
		if !ok {
			return nil, bad
		}
		if values.Has(key) {
			return nil, problem.InvalidRequest("parameter " + problem.Quote(key) + " is repeated")
		}
		values.Set(key, val)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, bad
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad
	}
	return values, nil
}
