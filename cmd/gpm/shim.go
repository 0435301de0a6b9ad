package main

import (
	"fmt"
	"strings"
)

// cmdShimLine is the command line that runs the .cmd shim at path with
// args through cmd.exe (cmd /d /s /c ""PATH" ARGS"), or an error when an
// argument, or the path, holds a character cmd.exe would act on.
//
// Go quotes a child's arguments for the usual Windows parser, which is not
// cmd.exe's: between its quotes cmd still expands %VAR% and !VAR!, and
// outside them it runs & and | as commands of their own. cmd cannot be
// told to take such characters literally in every case, so gpm refuses
// them rather than run something else than was asked. Arguments with
// spaces are quoted; /s makes cmd strip only the outermost pair of quotes,
// so a path with spaces survives.
func cmdShimLine(path string, args []string) (string, error) {
	const special = "\"%!^&|<>()\r\n"
	if i := strings.IndexAny(path, special); i >= 0 {
		return "", fmt.Errorf("the tool's path %q holds %q, which cmd.exe would act on", path, path[i])
	}
	var b strings.Builder
	b.WriteString(`/d /s /c ""` + path + `"`)
	for _, a := range args {
		if i := strings.IndexAny(a, special); i >= 0 {
			return "", fmt.Errorf("argument %q holds %q, which cmd.exe (running the tool's .cmd shim) would act on", a, a[i])
		}
		b.WriteByte(' ')
		if a == "" || strings.ContainsAny(a, " \t") {
			b.WriteString(`"` + a + `"`)
		} else {
			b.WriteString(a)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}
