package server

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/ids"
)

func clientSpec(f *fixture, name string) admin.ClientSpec {
	return admin.ClientSpec{OrgID: f.client.OrgID, Name: name}
}

func hashOf(s string) string { return ids.Hash(s) }

func mustRequest(method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	return req
}

// golden compares got with testdata/name; -update rewrites it.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got) {
		t.Fatalf("%s differs from golden:\n%s\nwant:\n%s", name, got, want)
	}
}
