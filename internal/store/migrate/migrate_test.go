package migrate

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"testing/fstest"
)

func TestFiles(t *testing.T) {
	file := func(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }
	t.Run("ordered_with_checksums", func(t *testing.T) {
		got, err := Files(fstest.MapFS{
			"m/10_later.sql":  file("CREATE TABLE c (x INT);"),
			"m/0002_api.sql":  file("CREATE TABLE b (x INT);"),
			"m/0001_init.sql": file("CREATE TABLE a (x INT);"),
			"m/README":        file("not a migration"),
		}, "m")
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte("CREATE TABLE a (x INT);"))
		if len(got) != 3 || got[0].Version != 1 || got[0].Name != "0001_init.sql" || got[1].Version != 2 || got[2].Version != 10 || got[0].Checksum != hex.EncodeToString(sum[:]) {
			t.Fatalf("files %+v", got)
		}
	})
	for name, tt := range map[string]struct {
		fs   fstest.MapFS
		want string
	}{
		"no_number":     {fstest.MapFS{"m/init.sql": file("")}, "must start with its number"},
		"zero":          {fstest.MapFS{"m/0000_init.sql": file("")}, "must start with its number"},
		"shared_number": {fstest.MapFS{"m/0001_a.sql": file(""), "m/0001_b.sql": file("")}, "share number 1"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Files(tt.fs, "m"); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
