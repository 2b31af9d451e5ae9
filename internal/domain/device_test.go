package domain

import (
	"fmt"
	"slices"
	"testing"
)

// TestAddDeviceName: a grant lists every device paired through it, once
// each, oldest first, at most twenty (PRODUCT T11, A11).
func TestAddDeviceName(t *testing.T) {
	list := AddDeviceName("", "Garage charger")
	list = AddDeviceName(list, "Attacker box")
	list = AddDeviceName(list, "Garage charger")
	list = AddDeviceName(list, "")
	if got := (Grant{DeviceName: list}).DeviceNames(); !slices.Equal(got, []string{"Garage charger", "Attacker box"}) {
		t.Fatalf("T11/every_device_listed_once: %q", got)
	}
	for i := range 25 {
		list = AddDeviceName(list, fmt.Sprintf("d%02d", i))
	}
	got := (Grant{DeviceName: list}).DeviceNames()
	if len(got) != 20 || got[19] != "d24" || got[0] != "d05" {
		t.Fatalf("T11/bounded: %d %q", len(got), got)
	}
	if (Grant{}).DeviceNames() != nil {
		t.Fatal("a browser's grant lists no device")
	}
}
