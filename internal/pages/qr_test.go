package pages

import (
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/skip2/go-qrcode"
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
	// Every dark module of the code, and only those, is one square.
	q, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	squares := map[[2]int]bool{}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h1v1h-1z`).FindAllStringSubmatch(s, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		squares[[2]int{x, y}] = true
	}
	dark := 0
	for y, row := range q.Bitmap() {
		for x, on := range row {
			if on != squares[[2]int{x, y}] {
				t.Fatalf("T11/qr_modules: module (%d,%d) dark %v, drawn %v", x, y, on, !on)
			}
			if on {
				dark++
			}
		}
	}
	if dark == 0 || dark != len(squares) {
		t.Fatalf("T11/qr_modules: %d dark modules, %d squares", dark, len(squares))
	}
	if _, err := qrSVG(strings.Repeat("x", 5000)); err == nil {
		t.Fatal("T11/qr_too_long_refused")
	}
}
