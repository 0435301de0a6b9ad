package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/gpmtool/gpm/internal/hint"
)

// jsonSchemaVersion versions every --json document (docs/json.md). Adding
// fields keeps the version; removing or changing one bumps it.
const jsonSchemaVersion = 1

// writeJSON prints v, which must encode as a JSON object, as the single
// JSON document of --json mode, with "schema_version" as its first field.
func writeJSON(c *cli, v any) error {
	// Encode as written: Marshal would turn &, < and > into \u0026 and
	// the like, which is for JSON inside HTML, not for a terminal or jq.
	var enc bytes.Buffer
	e := json.NewEncoder(&enc)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return err
	}
	body := bytes.TrimSpace(enc.Bytes())
	var doc bytes.Buffer
	fmt.Fprintf(&doc, `{"schema_version":%d`, jsonSchemaVersion)
	if inner := bytes.TrimSpace(body[1 : len(body)-1]); len(inner) > 0 {
		doc.WriteByte(',')
		doc.Write(inner)
	}
	doc.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, doc.Bytes(), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	c.jsonWritten = true
	_, err := c.stdout.Write(out.Bytes())
	return err
}

// jsonError is the document --json prints when a command fails before it
// printed its own, so that stdout always holds exactly one JSON document.
type jsonError struct {
	Error struct {
		Message  string   `json:"message"`
		Hints    []string `json:"hints,omitempty"`
		ExitCode int      `json:"exit_code"`
	} `json:"error"`
}

func (c *cli) writeJSONError(err error, code int) {
	var doc jsonError
	doc.Error.Message = sanitize(err.Error())
	for _, h := range hint.Of(err) {
		doc.Error.Hints = append(doc.Error.Hints, sanitize(h))
	}
	doc.Error.ExitCode = code
	_ = writeJSON(c, doc)
}
