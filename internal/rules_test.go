package internal_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// builtRules are the PRODUCT.md rules this release implements. Each must be
// cited where it is enforced, as "PRODUCT <id>" in a comment of non-test
// code, so that one grep (`grep -rn 'PRODUCT.*R3' internal`) finds it. Rules
// PRODUCT.md adds later join this list as their issues land.
var builtRules = strings.Fields(`
	T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11 T12
	A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13
	R1 R2 R3 R4 R5 R6 R7 R8 R9
	O1 O2 O3 O4 O5 O6 O7 O8 O9
	S1 S2 S3 S4 S5 S6 S7`)

// citation matches a comment that cites rules: "PRODUCT A2", "PRODUCT T5,
// S2", "PRODUCT A3-A6" and so on, up to the end of the line.
var citation = regexp.MustCompile(`PRODUCT ([^\n]*)`)

func TestEveryBuiltRuleIsCited(t *testing.T) {
	cited := map[string]bool{}
	ruleID := regexp.MustCompile(`\b([TAROS])(\d+)(?:-[TAROS]?(\d+))?\b`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, c := range citation.FindAllStringSubmatch(string(src), -1) {
			for _, m := range ruleID.FindAllStringSubmatch(c[1], -1) {
				cited[m[1]+m[2]] = true
				if m[3] != "" { // a range such as A3-A6
					from, _ := strconv.Atoi(m[2])
					to, _ := strconv.Atoi(m[3])
					for n := from; n <= to && n-from < 20; n++ {
						cited[m[1]+strconv.Itoa(n)] = true
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range builtRules {
		if !cited[id] {
			t.Errorf("PRODUCT %s is cited nowhere in non-test code", id)
		}
	}
}
