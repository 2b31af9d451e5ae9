package pages

import (
	"encoding/xml"
	"strings"
	"testing"
)

// TestQRSVG: the device link renders as one well-formed SVG with dark
// modules, and nothing of the link's text is copied into the markup
// (PRODUCT T11, A10).
func TestQRSVG(t *testing.T) {
	link := `https://auth.example/device?user_code=BCDF-GHJK&x="><script>`
	svg, err := qrSVG(link)
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	if !strings.HasPrefix(s, "<svg ") || !strings.Contains(s, "M") || strings.Contains(s, "script") || strings.Contains(s, "user_code") {
		t.Fatalf("T11/qr_svg: %.200s", s)
	}
	var doc struct {
		XMLName xml.Name
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil || doc.XMLName.Local != "svg" {
		t.Fatalf("T11/qr_svg_well_formed: %v %v", err, doc.XMLName)
	}
	if _, err := qrSVG(strings.Repeat("x", 5000)); err == nil {
		t.Fatal("T11/qr_too_long_refused")
	}
}
