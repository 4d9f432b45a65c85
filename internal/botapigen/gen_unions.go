package botapigen

import (
	"bytes"
	"fmt"
	"strings"
)

// handWritten are union interfaces declared by hand in botapi (their
// members get their marker methods there too).
var handWritten = set("ReplyMarkup")

func (g *gen) unionsFile(b *bytes.Buffer) error {
	b.WriteString("import (\n\t\"encoding/json\"\n\t\"fmt\"\n)\n\n")
	// JSON methods first, into their own buffer: they record the boxes,
	// fills and inline conversions they use.
	var methods bytes.Buffer
	for _, info := range g.infos {
		g.renderJSONMethods(&methods, info)
	}
	if err := g.renderInlined(&methods); err != nil {
		return err
	}
	for _, name := range g.order {
		u := g.unions[name]
		if err := g.renderUnion(b, u); err != nil {
			return err
		}
	}
	for _, key := range sortedKeys(g.boxes) {
		var name string
		var depth int
		if _, err := fmt.Sscanf(strings.Replace(key, "/", " ", 1), "%s %d", &name, &depth); err != nil {
			return fmt.Errorf("botapigen: box %s: %w", key, err)
		}
		g.renderBox(b, name, depth)
	}
	b.Write(methods.Bytes())
	g.renderWireResult(b)
	for _, key := range sortedKeys(g.fills) {
		if name, ok := strings.CutSuffix(key, "/p"); ok {
			fn, gn, wire := ptrFillName(name), GoName(name), wireName(name)
			fmt.Fprintf(b, "// %s completes a decoded array of %s in place and returns pointers to\n// its elements.\nfunc %s(ws []%s) []*%s {\n\tif ws == nil {\n\t\treturn nil\n\t}\n\tout := make([]*%s, len(ws))\n\tfor i := range ws {\n\t\tout[i] = ws[i].fill()\n\t}\n\treturn out\n}\n\n",
				fn, gn, fn, wire, gn, gn)
			continue
		}
		var name string
		var depth int
		if _, err := fmt.Sscanf(strings.Replace(key, "/", " ", 1), "%s %d", &name, &depth); err != nil {
			return fmt.Errorf("botapigen: fill %s: %w", key, err)
		}
		gn, wire := GoName(name), wireName(name)
		elemT, elemW, conv := gn, wire, "*ws[i].fill()"
		if depth == 2 {
			elemT, elemW, conv = "[]"+gn, "[]"+wire, fillName(name, 1)+"(ws[i])"
		}
		fmt.Fprintf(b, "// %s completes a decoded array of %s.\nfunc %s(ws []%s) []%s {\n\tif ws == nil {\n\t\treturn nil\n\t}\n\tout := make([]%s, len(ws))\n\tfor i := range ws {\n\t\tout[i] = %s\n\t}\n\treturn out\n}\n\n",
			fillName(name, depth), gn, fillName(name, depth), elemW, elemT, elemT, conv)
	}
	return nil
}

// anyNeeds reports whether a struct holds a field decoded through a wire type.
func (g *gen) anyNeeds(info structInfo) bool {
	for _, f := range info.structs {
		if g.shadow(info.specName, f) {
			return true
		}
	}
	return false
}

// decodeExpr is the Go expression that decodes b into a new member m.
func (g *gen) decodeExpr(m string) string {
	if g.needs[m] {
		return fmt.Sprintf("decodeWire(b, (*%s).fill)", wireName(m))
	}
	return fmt.Sprintf("decodeNew[%s](b)", GoName(m))
}

func (g *gen) memberLinks(u *union) []string {
	var links []string
	if u.richText {
		links = append(links, "["+GoName(u.name)+"Plain] (a JSON string)", "["+GoName(u.name)+"Array] (a JSON array)")
	}
	for _, m := range u.members {
		links = append(links, "[*"+GoName(m)+"]")
	}
	if g.hasUnknown(u) {
		links = append(links, "[*Unknown"+GoName(u.name)+"]")
	}
	return links
}

func (g *gen) hasUnknown(u *union) bool { return u.date == nil && !handWritten[u.name] }

func (g *gen) renderUnion(b *bytes.Buffer, u *union) error {
	gn := GoName(u.name)
	if !handWritten[u.name] {
		if nu, ok := namedUnions[u.name]; ok {
			writeComment(b, "", gn+" "+nu.doc)
			b.WriteString("//\n")
		} else {
			fmt.Fprintf(b, "// %s is the Bot API union %s. See %s.\n", gn, u.name, anchor(u.name))
			// The description's own list of members is replaced by the links below.
			var prose []string
			for _, l := range g.types[u.name].Description {
				if !strings.HasPrefix(l, "- ") {
					prose = append(prose, l)
				}
			}
			writeDescription(b, prose)
			if len(prose) == 0 {
				b.WriteString("//\n")
			}
		}
		fmt.Fprintf(b, "// Its members are %s.\n", strings.Join(g.memberLinks(u), ", "))
		switch {
		case u.date != nil:
			fmt.Fprintf(b, "// Decoding picks %s when the object's date is 0.\n", GoName(u.date[0]))
		case u.field != "":
			fmt.Fprintf(b, "// Decoding dispatches on the %q field; encoding a member adds it.\n", u.field)
			fmt.Fprintf(b, "// A member this package does not know decodes to [*Unknown%s] instead of failing.\n", gn)
		case u.presence:
			fmt.Fprintf(b, "// Decoding picks a member by which required fields are present.\n")
			fmt.Fprintf(b, "// A member this package does not know decodes to [*Unknown%s] instead of failing.\n", gn)
		}
		fmt.Fprintf(b, "type %s interface{ is%s() }\n\n", gn, gn)
		for _, m := range u.members {
			fmt.Fprintf(b, "func (*%s) is%s() {}\n", GoName(m), gn)
		}
		b.WriteString("\n")
	}
	if u.richText {
		fmt.Fprintf(b, "// %sPlain is a %s that is plain text (a JSON string).\ntype %sPlain string\n\nfunc (%sPlain) is%s() {}\n\n", gn, gn, gn, gn, gn)
		fmt.Fprintf(b, "// %sArray is a %s that is a sequence of %s (a JSON array).\ntype %sArray []%s\n\nfunc (%sArray) is%s() {}\n\n", gn, gn, gn, gn, gn, gn, gn)
		fmt.Fprintf(b, "// UnmarshalJSON decodes an array of %s, dispatching each element.\nfunc (a *%sArray) UnmarshalJSON(b []byte) error {\n\tvar x %s\n\tif err := x.UnmarshalJSON(b); err != nil {\n\t\treturn err\n\t}\n\t*a = x.v\n\treturn nil\n}\n\n", gn, gn, boxName(u.name, 1))
		g.boxes[u.name+"/1"] = true
		g.boxes[u.name+"/0"] = true
	}
	if g.hasUnknown(u) {
		fmt.Fprintf(b, "// Unknown%s is a %s of a kind this package does not know yet (Telegram\n// adds new ones). Raw is its JSON; encoding writes Raw back unchanged.\n", gn, gn)
		fmt.Fprintf(b, "type Unknown%s struct {\n", gn)
		if u.field != "" {
			fmt.Fprintf(b, "\t// %s is the value of the %q field.\n\t%s string\n", GoName(u.field), u.field, GoName(u.field))
		}
		b.WriteString("\t// Raw is the member's JSON object.\n\tRaw json.RawMessage\n}\n\n")
		fmt.Fprintf(b, "func (*Unknown%s) is%s() {}\n\n", gn, gn)
		fmt.Fprintf(b, "// MarshalJSON returns u.Raw, or null when it is empty.\nfunc (u Unknown%s) MarshalJSON() ([]byte, error) {\n\tif len(u.Raw) == 0 {\n\t\treturn []byte(\"null\"), nil\n\t}\n\treturn u.Raw, nil\n}\n\n", gn)
	}
	return g.renderDecoder(b, u)
}

func (g *gen) renderDecoder(b *bytes.Buffer, u *union) error {
	gn := GoName(u.name)
	fmt.Fprintf(b, "// decode%s decodes one %s; JSON null decodes to nil.\n", gn, gn)
	fmt.Fprintf(b, "func decode%s(b []byte) (%s, error) {\n", gn, gn)
	b.WriteString("\tif isNull(b) {\n\t\treturn nil, nil\n\t}\n")
	if u.richText {
		fmt.Fprintf(b, "\tswitch firstByte(b) {\n\tcase '\"':\n\t\tvar s string\n\t\tif err := json.Unmarshal(b, &s); err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\treturn %sPlain(s), nil\n", gn)
		fmt.Fprintf(b, "\tcase '[':\n\t\tvar a %sArray\n\t\tif err := a.UnmarshalJSON(b); err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\treturn a, nil\n\t}\n", gn)
	}
	vt := gn
	if handWritten[u.name] {
		vt = "any"
	}
	fmt.Fprintf(b, "\tvar v %s\n", vt)
	if u.date == nil && u.field == "" {
		b.WriteString("\tvar err error\n")
	}
	unknown := fmt.Sprintf("raw, err := unknownRaw(b)\n\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\treturn &Unknown%s{Raw: raw}, nil", gn)
	if handWritten[u.name] {
		unknown = fmt.Sprintf("return nil, fmt.Errorf(\"botapi: %s: no known member matches\")", gn)
	}
	switch {
	case u.date != nil:
		fmt.Fprintf(b, "\tzero, err := peekZero(b, \"date\")\n\tif err != nil {\n\t\treturn nil, fmt.Errorf(\"botapi: %s: %%w\", err)\n\t}\n", gn)
		fmt.Fprintf(b, "\tif zero {\n\t\tv, err = %s\n\t} else {\n\t\tv, err = %s\n\t}\n", g.decodeExpr(u.date[0]), g.decodeExpr(u.date[1]))
	case u.field != "":
		fmt.Fprintf(b, "\td, err := peekString(b, %q)\n\tif err != nil {\n\t\treturn nil, fmt.Errorf(\"botapi: %s: %%w\", err)\n\t}\n", u.field, gn)
		b.WriteString("\tswitch d {\n")
		var vals []string
		groups := map[string][]string{}
		for _, m := range u.members {
			v := u.values[m]
			if groups[v] == nil {
				vals = append(vals, v)
			}
			groups[v] = append(groups[v], m)
		}
		for _, v := range vals {
			ms := groups[v]
			fmt.Fprintf(b, "\tcase %q:\n", v)
			if len(ms) == 1 {
				fmt.Fprintf(b, "\t\tv, err = %s\n", g.decodeExpr(ms[0]))
				continue
			}
			for i, m := range ms[:len(ms)-1] {
				key, err := g.uniqueRequired(m, ms)
				if err != nil {
					return fmt.Errorf("botapigen: union %s value %q: %w", u.name, v, err)
				}
				if i > 0 {
					b.WriteString(" else ")
				} else {
					b.WriteString("\t\t")
				}
				fmt.Fprintf(b, "if hasKey(b, %q) {\n\t\t\tv, err = %s\n\t\t}", key, g.decodeExpr(m))
			}
			fmt.Fprintf(b, " else {\n\t\t\tv, err = %s\n\t\t}\n", g.decodeExpr(ms[len(ms)-1]))
		}
		fmt.Fprintf(b, "\tdefault:\n\t\traw, err := unknownRaw(b)\n\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\treturn &Unknown%s{%s: d, Raw: raw}, nil\n\t}\n", gn, GoName(u.field))
	case u.presence:
		// Most specific member first: the one with most required keys.
		ms := append([]string(nil), u.members...)
		keys := map[string][]string{}
		for _, m := range ms {
			if k, ok := presenceKeys[m]; ok {
				keys[m] = []string{k}
				continue
			}
			for _, f := range g.types[m].Fields {
				if f.Required && f.Const == "" && !literalTrue[m+"."+f.Name] {
					keys[m] = append(keys[m], f.Name)
				}
			}
			if len(keys[m]) == 0 {
				return fmt.Errorf("botapigen: union %s: member %s has no key to detect it by", u.name, m)
			}
		}
		stableSortBy(ms, func(m string) int { return -len(keys[m]) })
		b.WriteString("\tswitch {\n")
		for _, m := range ms {
			var qs []string
			for _, k := range keys[m] {
				qs = append(qs, fmt.Sprintf("%q", k))
			}
			fmt.Fprintf(b, "\tcase hasKeys(b, %s):\n\t\tv, err = %s\n", strings.Join(qs, ", "), g.decodeExpr(m))
		}
		fmt.Fprintf(b, "\tdefault:\n\t\t%s\n\t}\n", unknown)
	default:
		return fmt.Errorf("botapigen: union %s: no way to tell members apart", u.name)
	}
	b.WriteString("\tif err != nil {\n\t\treturn nil, err\n\t}\n")
	if handWritten[u.name] {
		fmt.Fprintf(b, "\tu, ok := v.(%s)\n\tif !ok {\n\t\treturn nil, fmt.Errorf(\"botapi: %%T is not a %s\", v)\n\t}\n\treturn u, nil\n}\n\n", gn, gn)
	} else {
		b.WriteString("\treturn v, nil\n}\n\n")
	}
	return nil
}

// uniqueRequired finds a required field of m that no other member of group requires.
func (g *gen) uniqueRequired(m string, group []string) (string, error) {
	others := map[string]bool{}
	for _, o := range group {
		if o == m {
			continue
		}
		for _, f := range g.types[o].Fields {
			if f.Required {
				others[f.Name] = true
			}
		}
	}
	for _, f := range g.types[m].Fields {
		if f.Required && f.Const == "" && !others[f.Name] {
			return f.Name, nil
		}
	}
	return "", fmt.Errorf("member %s has no required field the others lack", m)
}

func stableSortBy(xs []string, key func(string) int) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && key(xs[j]) < key(xs[j-1]); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

func (g *gen) renderBox(b *bytes.Buffer, u string, depth int) {
	gn := GoName(u)
	name := boxName(u, depth)
	switch depth {
	case 0:
		fmt.Fprintf(b, "// %s decodes one %s inside a struct or result.\ntype %s struct{ v %s }\n\n", name, gn, name, gn)
		fmt.Fprintf(b, "func (x *%s) UnmarshalJSON(b []byte) (err error) {\n\tx.v, err = decode%s(b)\n\treturn err\n}\n\n", name, gn)
	default:
		inner := boxName(u, depth-1)
		elem := strings.Repeat("[]", depth-1) + gn
		fmt.Fprintf(b, "// %s decodes a JSON array of %s.\ntype %s struct{ v []%s }\n\n", name, elem, name, elem)
		fmt.Fprintf(b, "func (x *%s) UnmarshalJSON(b []byte) error {\n\tvar bs []%s\n\tif err := json.Unmarshal(b, &bs); err != nil {\n\t\treturn err\n\t}\n", name, inner)
		fmt.Fprintf(b, "\tif bs == nil {\n\t\tx.v = nil\n\t\treturn nil\n\t}\n\tx.v = make([]%s, len(bs))\n\tfor i := range bs {\n\t\tx.v[i] = bs[i].v\n\t}\n\treturn nil\n}\n\n", elem)
	}
}

func (g *gen) renderJSONMethods(b *bytes.Buffer, info structInfo) {
	gn := info.goName
	if len(info.consts) > 0 {
		var parts []string
		for _, c := range info.consts {
			parts = append(parts, fmt.Sprintf("%q: %s", c.json, c.value))
		}
		fmt.Fprintf(b, "// MarshalJSON encodes v with %s added.\n", strings.Join(parts, ", "))
		fmt.Fprintf(b, "func (v %s) MarshalJSON() ([]byte, error) {\n\ttype plain %s\n\treturn json.Marshal(struct {\n", gn, gn)
		var vals []string
		for _, c := range info.consts {
			t := "string"
			if c.value == "true" {
				t = "bool"
			}
			fmt.Fprintf(b, "\t\t%s %s `json:%q`\n", c.goName, t, c.json)
			vals = append(vals, c.value)
		}
		fmt.Fprintf(b, "\t\tplain\n\t}{%s, plain(v)})\n}\n\n", strings.Join(vals, ", "))
	}
	if info.specName == "" && len(info.unions) == 0 && !g.anyNeeds(info) {
		return
	}
	if info.specName != "" && !g.needs[info.specName] {
		return
	}
	name := info.specName
	if name == "" {
		name = gn
	}
	plain, wire := plainName(name), wireName(name)
	fmt.Fprintf(b, "// %s is %s without its methods.\ntype %s %s\n\n", plain, gn, plain, gn)
	fmt.Fprintf(b, "// %s decodes a %s in one pass: union-typed fields go through their\n// boxes and nested structs through their wire types, so no UnmarshalJSON\n// runs per nested object.\n", wire, gn)
	fmt.Fprintf(b, "type %s struct {\n\t%s\n", wire, plain)
	for _, f := range info.unions {
		if sup := inlineUnions[f.union]; sup != "" && f.depth == 0 {
			g.inlined[f.union] = true
			fmt.Fprintf(b, "\t%s *%s `json:%q`\n", f.goName, wireName(sup), f.json)
			continue
		}
		fmt.Fprintf(b, "\t%s %s `json:%q`\n", f.goName, boxName(f.union, f.depth), f.json)
	}
	for _, f := range info.structs {
		if !g.shadow(info.specName, f) {
			continue
		}
		t := strings.Repeat("[]", f.depth) + wireName(f.elem)
		if f.ptr {
			t = "*" + t
		}
		fmt.Fprintf(b, "\t%s %s `json:%q`\n", f.goName, t, f.json)
	}
	b.WriteString("}\n\n")
	fmt.Fprintf(b, "// fill completes the %s held in w and returns it; nil for a nil w.\n", gn)
	fmt.Fprintf(b, "func (w *%s) fill() *%s {\n\tif w == nil {\n\t\treturn nil\n\t}\n\tv := (*%s)(&w.%s)\n", wire, gn, gn, plain)
	for _, f := range info.unions {
		if inlineUnions[f.union] != "" && f.depth == 0 {
			fmt.Fprintf(b, "\tv.%s = w.%s.as%s()\n", f.goName, f.goName, GoName(f.union))
			continue
		}
		fmt.Fprintf(b, "\tv.%s = w.%s.v\n", f.goName, f.goName)
	}
	for _, f := range info.structs {
		if !g.shadow(info.specName, f) {
			continue
		}
		switch {
		case f.depth > 0:
			g.fills[fmt.Sprintf("%s/%d", f.elem, f.depth)] = true
			if f.depth > 1 {
				g.fills[f.elem+"/1"] = true
			}
			fmt.Fprintf(b, "\tv.%s = %s(w.%s)\n", f.goName, fillName(f.elem, f.depth), f.goName)
		case f.ptr:
			fmt.Fprintf(b, "\tv.%s = w.%s.fill()\n", f.goName, f.goName)
		default:
			fmt.Fprintf(b, "\tv.%s = *w.%s.fill()\n", f.goName, f.goName)
		}
	}
	b.WriteString("\treturn v\n}\n\n")
	fmt.Fprintf(b, "// UnmarshalJSON decodes v, dispatching its union-typed fields on their kind.\n")
	fmt.Fprintf(b, "func (v *%s) UnmarshalJSON(b []byte) error {\n\tvar w %s\n\tif err := json.Unmarshal(b, &w); err != nil {\n\t\treturn err\n\t}\n\t*v = *w.fill()\n\treturn nil\n}\n", gn, wire)
}

// renderWireResult writes wireResult, which lets code outside the generated
// methods (Client.Call, the long poller) decode results through wire types.
func (g *gen) renderWireResult(b *bytes.Buffer) {
	b.WriteString("// wireResult returns, for a result pointer of a type decoded through wire\n")
	b.WriteString("// types (a struct some method returns, as T, *T, []T or []*T), a decoding\n")
	b.WriteString("// target and a function that completes result from it after a successful\n")
	b.WriteString("// decode. It returns nil, nil for any other result.\n")
	b.WriteString("func wireResult(result any) (any, func()) {\n\tswitch r := result.(type) {\n")
	for _, t := range sortedKeys(g.results) {
		gn, wire := GoName(t), wireName(t)
		g.fills[t+"/1"] = true
		g.fills[t+"/p"] = true
		mk := "var w []" + wire
		if t == "Update" {
			mk = fmt.Sprintf("w := make([]%s, 0, %d)", wire, pointerResults["getUpdates"].def)
		}
		fmt.Fprintf(b, "\tcase *%s:\n\t\tw := new(%s)\n\t\treturn w, func() { *r = *w.fill() }\n", gn, wire)
		fmt.Fprintf(b, "\tcase **%s:\n\t\tvar w *%s\n\t\treturn &w, func() { *r = w.fill() }\n", gn, wire)
		fmt.Fprintf(b, "\tcase *[]%s:\n\t\t%s\n\t\treturn &w, func() { *r = %s(w) }\n", gn, mk, fillName(t, 1))
		fmt.Fprintf(b, "\tcase *[]*%s:\n\t\t%s\n\t\treturn &w, func() { *r = %s(w) }\n", gn, mk, ptrFillName(t))
	}
	b.WriteString("\t}\n\treturn nil, nil\n}\n\n")
}

// renderInlined writes the conversions of inlineUnions from their superset
// member's wire type.
func (g *gen) renderInlined(b *bytes.Buffer) error {
	for _, name := range sortedKeys(g.inlined) {
		u, sup := g.unions[name], inlineUnions[name]
		if u == nil || u.date == nil || u.date[1] != sup || !g.needs[sup] {
			return fmt.Errorf("botapigen: inline union %s: needs a date union whose other member %s has a wire type", name, sup)
		}
		zero := u.date[0]
		supFields := map[string]fieldType{}
		for _, f := range g.types[sup].Fields {
			ft, err := g.fieldType(sup, f)
			if err != nil {
				return err
			}
			supFields[f.Name] = ft
		}
		var assigns []string
		for _, f := range g.types[zero].Fields {
			ft, err := g.fieldType(zero, f)
			if err != nil {
				return err
			}
			if sf, ok := supFields[f.Name]; !ok || sf.expr != ft.expr {
				return fmt.Errorf("botapigen: inline union %s: %s.%s is not a field of %s with the same type", name, zero, f.Name, sup)
			}
			assigns = append(assigns, fmt.Sprintf("%s: m.%s", GoName(f.Name), GoName(f.Name)))
		}
		gn := GoName(name)
		fmt.Fprintf(b, "// as%s completes w and returns it as a %s: a %s when\n// its date is 0, else the %s.\n", gn, gn, GoName(zero), GoName(sup))
		fmt.Fprintf(b, "func (w *%s) as%s() %s {\n\tif w == nil {\n\t\treturn nil\n\t}\n\tm := w.fill()\n\tif m.Date == 0 {\n\t\treturn &%s{%s}\n\t}\n\treturn m\n}\n\n",
			wireName(sup), gn, gn, GoName(zero), strings.Join(assigns, ", "))
	}
	return nil
}
