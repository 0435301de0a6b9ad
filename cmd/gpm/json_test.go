package main

import (
	"bytes"
	"encoding/json"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdJSONDoc checks that the last command's stdout is exactly one JSON
// object with schema_version 1, and that it has each given top-level key:
//
//	jsondoc [KEY...]
func cmdJSONDoc(ts *testscript.TestScript, neg bool, args []string) {
	out := ts.ReadFile("stdout")
	dec := json.NewDecoder(bytes.NewReader([]byte(out)))
	var doc map[string]json.RawMessage
	if err := dec.Decode(&doc); err != nil {
		ts.Fatalf("stdout is not a JSON object: %v\n%s", err, out)
	}
	if dec.More() {
		ts.Fatalf("stdout holds more than one JSON document:\n%s", out)
	}
	if v := string(doc["schema_version"]); v != "1" {
		ts.Fatalf("schema_version = %q, want 1", v)
	}
	for _, k := range args {
		if _, ok := doc[k]; ok == neg {
			ts.Fatalf("key %q present: %v, want %v\n%s", k, ok, !neg, out)
		}
	}
}
