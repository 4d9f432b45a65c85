package botapigen

import (
	"bytes"
	"fmt"
	"strings"
)

// TableFile is the generated test table of package botapi: every method with
// its parameters, and every union member with its discriminator, so tests can
// check all of them without listing them by hand.
const TableFile = "zz_generated_table_test.go"

func (g *gen) tableFile(b *bytes.Buffer) error {
	b.WriteString("// methodCase is one Bot API method: its name, a constructor of its\n// parameters (nil without parameters), the JSON names of its parameters and\n// of the required ones.\n")
	b.WriteString("type methodCase struct {\n\tmethod   string\n\tparams   func() any\n\tnames    []string\n\trequired []string\n}\n\n")
	b.WriteString("var methodTable = []methodCase{\n")
	for _, m := range g.spec.Methods {
		gn := GoName(m.Name)
		var names, req []string
		for _, f := range m.Params {
			names = append(names, fmt.Sprintf("%q", f.Name))
			if f.Required {
				req = append(req, fmt.Sprintf("%q", f.Name))
			}
		}
		params := "nil"
		if len(m.Params) > 0 {
			params = fmt.Sprintf("func() any { return new(%sParams) }", gn)
		}
		fmt.Fprintf(b, "\t{method: %q, params: %s,\n\t\tnames: []string{%s}, required: []string{%s}},\n",
			m.Name, params, strings.Join(names, ", "), strings.Join(req, ", "))
	}
	b.WriteString("}\n\n")
	b.WriteString("// unionCase is one member of a union: the discriminator field and value\n// (empty for unions told apart otherwise), a constructor, and the union's decoder.\n")
	b.WriteString("type unionCase struct {\n\tunion, member string\n\tfield, value  string\n\tnewMember     func() any\n\tdecode        func([]byte) (any, error)\n}\n\n")
	if err := g.zeroTable(b); err != nil {
		return err
	}
	b.WriteString("var unionTable = []unionCase{\n")
	for _, name := range g.order {
		u := g.unions[name]
		dec := fmt.Sprintf("func(b []byte) (any, error) { return decode%s(b) }", GoName(name))
		for _, m := range u.members {
			fmt.Fprintf(b, "\t{union: %q, member: %q, field: %q, value: %q, newMember: func() any { return new(%s) },\n\t\tdecode: %s},\n",
				name, m, u.field, u.values[m], GoName(m), dec)
		}
	}
	b.WriteString("}\n")
	return nil
}

// zeroTable writes every field of meaningfulZero with the JSON of its zero
// value and a constructor of its owner, so a test can check each is sent.
func (g *gen) zeroTable(b *bytes.Buffer) error {
	b.WriteString("// zeroCase is a field whose zero value means something to Telegram\n// (overrides.go, meaningfulZero): its owner (a type, or a method for its\n// parameters), its JSON name, the JSON of its zero value and a constructor of\n// the owner.\n")
	b.WriteString("type zeroCase struct {\n\towner, field, zero string\n\tnewOwner           func() any\n}\n\n")
	b.WriteString("var zeroTable = []zeroCase{\n")
	for _, key := range sortedKeys(meaningfulZero) {
		owner, field, _ := strings.Cut(key, ".")
		var fs []Field
		goType := ""
		if t := g.types[owner]; t != nil {
			fs, goType = t.Fields, GoName(owner)
		}
		for _, m := range g.spec.Methods {
			if m.Name == owner {
				fs, goType = m.Params, GoName(owner)+"Params"
			}
		}
		zero := ""
		for _, f := range fs {
			if f.Name != field {
				continue
			}
			switch f.Types[0] {
			case "Boolean":
				zero = "false"
			case "Integer", "Float":
				zero = "0"
			case "String":
				zero = `""`
			}
		}
		if zero == "" {
			return fmt.Errorf("botapigen: meaningfulZero %s: no such scalar field", key)
		}
		fmt.Fprintf(b, "\t{owner: %q, field: %q, zero: %q, newOwner: func() any { return new(%s) }},\n", owner, field, zero, goType)
	}
	b.WriteString("}\n\n")
	return nil
}
