package control

import (
	"fmt"
	"strings"

	"github.com/webhookd/webhookd/control/controlapi"
)

// maxUser bounds the user name.
const maxUser = controlapi.MaxUser

// errorf builds a reply error.
func errorf(code controlapi.Code, format string, args ...any) *controlapi.Error {
	return &controlapi.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// commandOf returns the command a subject names, or "" when it is not a control subject.
func commandOf(subject string) string {
	cmd, ok := strings.CutPrefix(subject, controlapi.SubjectPrefix)
	if !ok {
		return ""
	}
	return cmd
}
