package httpx

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// WriteJSON writes v as a JSON response with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own types reach here; a failure is a programming error.
		body, status = []byte(`{"code":"INTERNAL_SERVER_ERROR","message":"Internal Server Error"}`), http.StatusInternalServerError
	}
	WriteRaw(w, status, "application/json", body)
}

// WriteRaw writes a body that is already encoded.
func WriteRaw(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
