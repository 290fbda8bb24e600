package web

import (
	"errors"
	"fmt"
	"strings"

	"github.com/latchauth/latch"
)

// field is one labelled input. Error is shown right under it and tied to it
// with aria-describedby, as are the hint and the form-level error.
type field struct {
	Name, Label, Type, Autocomplete, Hint string
	Value                                 string // echoed back for emails only, never for passwords
	Error                                 string
	Invalid, Autofocus                    bool
	DescribedBy                           string
}

// formData is one form: where it posts, its fields, and an error about the
// form as a whole (wrong credentials name no single field).
type formData struct {
	ID, Action, Submit string
	Error              string
	Fields             []*field
}

// field returns the named field, or nil.
func (f *formData) field(name string) *field {
	for _, fl := range f.Fields {
		if fl.Name == name {
			return fl
		}
	}
	return nil
}

// fail shows err on the form and reports whether it was about the input.
// formMessages overrides the service's message for particular codes; the
// key "" lists codes that belong to the whole form, not a field.
func (f *formData) fail(err error, formMessages map[string]fieldMessage) bool {
	e, ok := errors.AsType[*latch.Error](err)
	if !ok {
		return false
	}
	if m, ok := formMessages[e.Code]; ok {
		if fl := f.field(m.field); fl != nil {
			fl.Error = m.text
		} else {
			f.Error = m.text
		}
	} else if fl := f.field(e.Field); fl != nil && e.Kind == latch.KindInvalid {
		fl.Error = sentence(e.Message, fl)
	} else {
		return false
	}
	f.finish()
	return true
}

// fieldMessage is what to say, and next to which field ("" for the form).
type fieldMessage struct{ field, text string }

// finish wires the accessibility attributes once errors are known: each
// input names its hint, its own error and the form's error, and the first
// input with a problem gets the focus.
func (f *formData) finish() {
	focused := false
	for _, fl := range f.Fields {
		var ids []string
		if fl.Hint != "" {
			ids = append(ids, f.ID+"-"+fl.Name+"-hint")
		}
		if fl.Error != "" {
			ids = append(ids, f.ID+"-"+fl.Name+"-error")
		}
		if f.Error != "" {
			ids = append(ids, f.ID+"-error")
		}
		fl.DescribedBy = strings.Join(ids, " ")
		fl.Invalid = fl.Error != "" || f.Error != "" && fl.Type == "password"
		if fl.Invalid && !focused {
			fl.Autofocus, focused = true, true
		}
	}
}

// sentence turns an API message ("current_password is required") into one
// for a person ("Enter your current password.").
func sentence(msg string, fl *field) string {
	label := strings.ToLower(fl.Label)
	if strings.HasSuffix(msg, " is required") {
		return "Enter your " + label + "."
	}
	if i := strings.IndexByte(msg, ' '); i > 0 {
		msg = label + msg[i:]
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

func emailField(value string) *field {
	return &field{Name: "email", Label: "Email", Type: "email", Autocomplete: "username", Value: value}
}

func passwordField(name, label, autocomplete, hint string) *field {
	return &field{Name: name, Label: label, Type: "password", Autocomplete: autocomplete, Hint: hint}
}

// passwordHint states the length policy the service enforces.
var passwordHint = fmt.Sprintf("At least %d characters. A long phrase is easier to remember than symbols.", latch.MinPasswordChars)
