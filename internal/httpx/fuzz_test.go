package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Bodies both fuzz targets start from: well-formed requests, repeated
// parameters (PRODUCT T2; RFC 6749 §3.2), values that are not objects,
// nesting, huge numbers and invalid UTF-8. They stay small so the fuzzer
// mutates and minimizes quickly; TestParamsHugeBodies checks the same
// properties on bodies too large for that.
var jsonSeeds = []string{
	`{"grant_type":"client_credentials","scope":"read:*"}`,
	`{}`,
	` {"a":"1"} `,
	`{"a":"1","a":"2"}`,
	`{"a":"1","\u0061":"2"}`,
	`{"a":{"x":1},"b":[1,2],"a":null}`,
	`{"a":"1"}{"b":"2"}`,
	`{"a":"1"} x`,
	`{"a":"1",}`,
	`{"a" "1"}`,
	`{1:"a"}`,
	`[]`,
	`"a"`,
	`null`,
	`17`,
	``,
	`{"n":1e999999}`,
	`{"n":123456789012345678901234567890123456789012345678901234567890}`,
	`{"n":-0.0000000000000000000000000000001e-400}`,
	`{"a":[[[[[[[[{"b":[[[]]]}]]]]]]]]}`,
	`{"a":{"a":{"a":{"a":{"a":"1"}}}},"b":"2"}`,
	"{\"\xff\":\"1\",\"\xfe\":\"2\"}",
	"{\"a\":\"\xff\xfe\"}",
	"{\"\xed\xa0\x80\":\"surrogate\"}",
	`{"\ud800":"1","\ufffd":"2"}`,
}

var formSeeds = []string{
	"grant_type=client_credentials&scope=read%3A%2A",
	"a=1&a=2",
	"a=1&A=2",
	"a&a",
	"=x&=y",
	"a=1&&b=2",
	"a=1&b=2&c=3&b=4",
	"a=%zz",
	"a=1;b=2",
	"a=%FF%FE",
	"a=\xff&b=\xfe",
}

var mediaTypes = []string{
	"application/x-www-form-urlencoded",
	"application/json",
	"application/json; charset=utf-8",
	"APPLICATION/JSON",
	"text/plain",
	"",
	`application/json; charset="`,
}

// FuzzReadParams: whatever the media type and body, ReadParams never
// panics, never accepts a repeated parameter, and on success yields each
// parameter once with the value the body gives it.
func FuzzReadParams(f *testing.F) {
	for _, body := range jsonSeeds {
		f.Add("application/json", []byte(body))
	}
	for _, body := range formSeeds {
		f.Add("application/x-www-form-urlencoded", []byte(body))
	}
	for _, mt := range mediaTypes {
		f.Add(mt, []byte(`{"a":"1"}`))
		f.Add(mt, []byte(`a=1`))
	}
	f.Fuzz(checkReadParams)
}

func checkReadParams(t *testing.T, contentType string, body []byte) {
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	values, err := ReadParams(httptest.NewRecorder(), r, MaxParamsBody)
	if err != nil {
		return
	}
	for name, vs := range values {
		if len(vs) != 1 {
			t.Fatalf("parameter %q has %d values", name, len(vs))
		}
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	switch mediaType {
	case "application/x-www-form-urlencoded":
		want, err := url.ParseQuery(string(body))
		if err != nil {
			t.Fatalf("accepted a body url.ParseQuery refuses: %v", err)
		}
		for name, vs := range want {
			if len(vs) != 1 {
				t.Fatalf("accepted %q given %d times", name, len(vs))
			}
			if values.Get(name) != vs[0] {
				t.Fatalf("%q = %q, body says %q", name, values.Get(name), vs[0])
			}
		}
		if len(want) != len(values) {
			t.Fatalf("%d parameters, body has %d", len(values), len(want))
		}
	case "application/json":
		names, dup, ok := topLevelNames(body)
		if !ok {
			t.Fatalf("accepted a body that is not one JSON object: %q", body)
		}
		if dup != "" {
			t.Fatalf("accepted %q given twice", dup)
		}
		var want map[string]string
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("accepted a body that is not an object of strings: %v", err)
		}
		if len(names) != len(values) || len(want) != len(values) {
			t.Fatalf("%d parameters, body has %d members", len(values), len(names))
		}
		for name, v := range want {
			if values.Get(name) != v {
				t.Fatalf("%q = %q, body says %q", name, values.Get(name), v)
			}
		}
	default:
		t.Fatalf("accepted media type %q", contentType)
	}
}

// FuzzDecodeObject: DecodeObject never panics; it accepts only one JSON
// object and nothing after it; a member given twice is always a
// *RepeatedKeyError; on success every member appears once, undecoded.
func FuzzDecodeObject(f *testing.F) {
	for _, body := range jsonSeeds {
		f.Add([]byte(body))
	}
	f.Fuzz(checkDecodeObject)
}

func checkDecodeObject(t *testing.T, body []byte) {
	out, err := DecodeObject(body)
	names, dup, ok := topLevelNames(body)
	var repeated *RepeatedKeyError
	switch {
	case ok && dup != "":
		if !errors.As(err, &repeated) || repeated.Key != dup {
			t.Fatalf("member %q given twice: err = %v", dup, err)
		}
		return
	case err != nil:
		// A repeated member before a later syntax error may still be
		// reported as such; in a valid body without one it is a lie.
		if ok && errors.As(err, &repeated) {
			t.Fatalf("RepeatedKeyError %q for a body without a repeated member", repeated.Key)
		}
		return
	case !ok:
		t.Fatalf("accepted a body that is not one JSON object: %q", body)
	}
	if !json.Valid(body) {
		t.Fatalf("accepted invalid JSON: %q", body)
	}
	if len(out) != len(names) {
		t.Fatalf("%d members decoded, body has %d", len(out), len(names))
	}
	for _, name := range names {
		raw, found := out[name]
		if !found || !json.Valid(raw) {
			t.Fatalf("member %q: %q (present %v)", name, raw, found)
		}
	}
}

// TestParamsHugeBodies runs the fuzz properties on bodies too big to seed
// the fuzzer with: nesting past encoding/json's depth limit, bodies at and
// over MaxParamsBody (PRODUCT S4), many parameters.
func TestParamsHugeBodies(t *testing.T) {
	for _, body := range []string{
		`{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`,
		`{"a":` + strings.Repeat(`{"a":`, 2000) + `1` + strings.Repeat("}", 2000) + `}`,
		`{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
		strings.Repeat("[", 20000),
		`{"a":"` + strings.Repeat("x", MaxParamsBody) + `"}`,
	} {
		checkDecodeObject(t, []byte(body))
		checkReadParams(t, "application/json", []byte(body))
	}
	for _, body := range []string{
		strings.Repeat("a", MaxParamsBody+1),
		strings.Repeat("k=v&", 3000),
		strings.Repeat("&", MaxParamsBody),
	} {
		checkReadParams(t, "application/x-www-form-urlencoded", []byte(body))
	}
}

// topLevelNames is the oracle: it walks body as tokens alone, a different
// path through encoding/json than DecodeObject's, and returns the names of
// the top-level members in order, the first name given twice (after
// unescaping, as any JSON consumer would compare them), and whether body is
// exactly one object.
func topLevelNames(body []byte) (names []string, dup string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // a valid number too big for a float64 is still valid JSON
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, "", false
	}
	seen := map[string]bool{}
	depth, wantName := 1, true
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			return nil, "", false
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
			if depth == 1 {
				wantName = true // a nested value ended: a member is done
			}
			continue
		}
		if depth != 1 {
			continue
		}
		if wantName {
			name := tok.(string) // the decoder allows only a string here
			if seen[name] && dup == "" {
				dup = name
			}
			seen[name] = true
			names = append(names, name)
		}
		wantName = !wantName
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, "", false
	}
	return names, dup, true
}
