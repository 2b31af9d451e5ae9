package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

func TestParsePrices(t *testing.T) {
	good := PricesHeader + "\n2026-03-01T00:00:00Z,8.77,9.47,6.2\n2026-03-01T00:15:00Z,-1.5,9.47,6.2\n"
	points, err := ParsePrices(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.PricePoint{
		{Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Electricity: 87700, Grid: 94700, Levies: 62000},
		{Time: time.Date(2026, 3, 1, 0, 15, 0, 0, time.UTC), Electricity: -15000, Grid: 94700, Levies: 62000},
	}
	if len(points) != 2 || points[0] != want[0] || points[1] != want[1] {
		t.Fatalf("got %+v", points)
	}
	if points[0].Total().String() != "24.44" {
		t.Fatalf("total %s", points[0].Total())
	}
	for _, tc := range []struct{ name, file, want string }{
		{"empty", "", "line 1: the header"},
		{"wrong_header", "time,price\n", "line 1: the header"},
		{"no_rows", PricesHeader + "\n", "no price rows"},
		{"local_time", PricesHeader + "\n2026-03-01T01:00:00+01:00,1,1,1\n", "line 2: timestamp \"2026-03-01T01:00:00+01:00\" must be in UTC"},
		{"not_a_time", PricesHeader + "\nyesterday,1,1,1\n", "line 2: timestamp \"yesterday\" is not ISO 8601"},
		{"odd_minute", PricesHeader + "\n2026-03-01T00:10:00Z,1,1,1\n", "must start an hour or a quarter hour"},
		{"bad_amount", PricesHeader + "\n2026-03-01T00:00:00Z,1,abc,1\n", "line 2: grid \"abc\""},
		{"too_many_decimals", PricesHeader + "\n2026-03-01T00:00:00Z,1.00001,1,1\n", "electricity"},
		{"missing_column", PricesHeader + "\n2026-03-01T00:00:00Z,1,1\n", "line 2: wrong number of fields"},
		{"duplicate", PricesHeader + "\n2026-03-01T00:00:00Z,1,1,1\n2026-03-01T00:00:00Z,2,2,2\n", "line 3: timestamp repeats line 2"},
		{"every_bad_row_listed", PricesHeader + "\nx,1,1,1\n2026-03-01T00:00:00Z,1,1,1\ny,1,1,1\n", "line 4: timestamp \"y\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePrices(strings.NewReader(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestAmount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"8.77", "8.77", true}, {"12", "12", true}, {"-0.5", "-0.5", true}, {"0.0001", "0.0001", true}, {"1.2300", "1.23", true},
		{"", "", false}, {"1.", "1", true}, {".5", "", false}, {"1e3", "", false}, {"1,5", "", false}, {"--1", "", false},
		{"1.23456", "", false}, {"99999999", "", false}, {"+1", "", false},
	} {
		a, err := domain.ParseAmount(tc.in)
		if (err == nil) != tc.ok || (tc.ok && a.String() != tc.want) {
			t.Errorf("ParseAmount(%q) = %v, %v", tc.in, a, err)
		}
	}
}

func TestDemoPricesCoverLocalDays(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := time.Date(2026, 3, 29, 12, 0, 0, 0, berlin) // 23 hours
	points := DemoPrices(day.AddDate(0, 0, -1), day.AddDate(0, 0, 1), berlin)
	if len(points) != 24+23+24 {
		t.Fatalf("%d points for three local days around the clock change", len(points))
	}
	if !points[0].Time.Equal(time.Date(2026, 3, 28, 0, 0, 0, 0, berlin)) {
		t.Fatalf("first point %v", points[0].Time)
	}
}
