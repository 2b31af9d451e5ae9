// Package internal_test checks STYLE.md's dependency direction: arrows point
// down only, so the layers stay true as the code grows.
package internal_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/nomosauth/nomosauth/internal/"

// allowed lists, for each package, the packages of ours it may import.
var allowed = map[string][]string{
	"domain":                {},
	"problem":               {},
	"oauth":                 {"domain", "problem"},
	"ids":                   {},
	"seal":                  {"domain"},
	"token":                 {"domain"},
	"revoke":                {"domain", "token", "metrics", "store"},
	"store":                 {"domain"},
	"store/sqlite":          {"store", "domain", "store/migrate", "store/rowcodec", "store/txn"},
	"store/postgres":        {"store", "domain", "store/migrate", "store/rowcodec", "store/txn"},
	"store/rowcodec":        {"domain"},
	"store/txn":             {"store", "domain", "store/rowcodec"},
	"store/migrate":         {"store", "store/rowcodec", "store/txn"},
	"store/postgres/pgtest": {}, // a test helper: a fresh schema per test
	"store/storetest":       {"store", "domain", "store/migrate", "store/rowcodec", "store/txn"},
	"mail":                  {"domain", "problem"},
	"mail/smtptest":         {},                // a test helper: an in-process SMTP server
	"fakeclock":             {},                // a test helper: a settable clock
	"pages/formclient":      {"mail/smtptest"}, // a test helper: a form-posting browser
	"httpx":                 {"domain", "ids", "problem", "store", "metrics"},
	"config":                {"token"},
	"metrics":               {"domain"}, // the Prometheus collectors; store never imports it (PRODUCT O7)
	"maintain":              {"domain", "token", "revoke", "store", "metrics", "seal"},
	"admin":                 {"domain", "ids", "oauth", "problem", "seal", "store", "token"},
	"bearer":                {"domain", "oauth", "problem", "store", "token"},
	"directory":             {"domain", "store"}, // clients in memory (issue 17)
	"view":                  {"domain", "store"}, // the API's reads in memory (issue 17)
	"server":                {"bearer", "domain", "httpx", "ids", "metrics", "oauth", "problem", "revoke", "seal", "store", "token"},
	"pages":                 {"domain", "httpx", "ids", "metrics", "oauth", "problem", "revoke", "store", "mail"},
	"api":                   {"bearer", "domain", "httpx", "ids", "metrics", "oauth", "problem", "revoke", "store", "token"},
	"cli":                   {"*"},
	"testfix":               {"admin", "domain", "fakeclock", "ids", "metrics", "seal", "store/sqlite", "token"}, // a test helper: the surfaces' shared fixture
}

func TestDependencyDirection(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if pkg == "." {
			return nil
		}
		rules, ok := allowed[pkg]
		if !ok {
			t.Errorf("package %s has no entry in the layer table", pkg)
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if !strings.HasPrefix(p, module) {
				if pkg == "oauth" && p == "net/http" {
					t.Errorf("%s: oauth must not import net/http", path)
				}
				continue
			}
			target := strings.TrimPrefix(p, module)
			if !permitted(rules, target) {
				t.Errorf("%s imports %s: not allowed for %s (allowed: %v)", path, target, pkg, rules)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func permitted(rules []string, target string) bool {
	for _, r := range rules {
		if r == "*" || r == target {
			return true
		}
	}
	return false
}
