package cli

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestTuneGC: serve runs the collector at gcPercent with a soft memory
// limit of gcMemoryBase plus the view's ceiling (issue 17), unless the
// operator set GOGC or GOMEMLIMIT, which win.
func TestTuneGC(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })

	tuneGC(func(string) string { return "" }, 8)
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GC percent %d, want %d", got, gcPercent)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != gcMemoryBase+8<<20 {
		t.Errorf("memory limit %d, want %d", got, gcMemoryBase+8<<20)
	}

	set := map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}
	tuneGC(func(k string) string { return set[k] }, 8)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set: GC percent changed to %d", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: memory limit changed to %d", got)
	}
}
