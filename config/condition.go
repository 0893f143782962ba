package config

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
)

// The CEL environment lives here rather than in package rules so that Validate can compile
// conditions without an import cycle; rules compiles with the very same function, so a condition
// that validates is a condition the worker can run.

// ConditionVariable is the name conditions use for the event.
const ConditionVariable = "event"

// EventFields are the fields of the event variable (CONTRACT.md section 2). A condition that
// selects any other field of event is refused: it could never be true, so it is a typo.
var EventFields = []string{"id", "entity", "entity_id", "action", "occurred_at", "actor", "changed", "data"}

const (
	// MaxConditionLength bounds a condition's source, in characters.
	MaxConditionLength = 4096
	// MaxConditionCost bounds one evaluation, in CEL cost units (about one per operation and per
	// element visited): enough for comprehensions over thousands of elements, small enough that
	// a pathological expression stops within tens of milliseconds (a triple loop over 1000 items
	// stops after about 30ms). Past it the evaluation is an error, which rules treats as false.
	MaxConditionCost = 100_000
)

// ConditionError says why a condition cannot be used. Reason completes the sentence
// "condition ...".
type ConditionError struct {
	Reason string
	Err    error // the CEL error behind it, if any
}

func (e *ConditionError) Error() string { return "condition " + e.Reason }

func (e *ConditionError) Unwrap() error { return e.Err }

// conditionEnv is the CEL environment conditions compile in: one variable, event, a map from
// field name to a dynamic value.
var conditionEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable(ConditionVariable, cel.MapType(cel.StringType, cel.DynType)),
		// JSON numbers arrive as int or double; comparing them across types must just work.
		cel.CrossTypeNumericComparisons(true),
		// event.?data.?status.orValue("") lets a condition spell out its own default.
		cel.OptionalTypes(),
		ext.Strings(),
		cel.ParserExpressionSizeLimit(MaxConditionLength),
		cel.ParserRecursionLimit(100),
	)
})

// CompileCondition compiles a rule condition into a program that is safe for concurrent use and
// stops with an error past MaxConditionCost. The condition must type-check to bool; an expression
// whose type is only known at run time (dyn, e.g. event.data.enabled) is accepted, and evaluates
// to false when it turns out not to be a bool. Any fault is a *ConditionError.
func CompileCondition(expr string) (cel.Program, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, &ConditionError{Reason: "is empty"}
	}
	if n := utf8.RuneCountInString(expr); n > MaxConditionLength {
		return nil, &ConditionError{Reason: fmt.Sprintf("is %d characters long, at most %d are allowed", n, MaxConditionLength)}
	}
	env, err := conditionEnv()
	if err != nil {
		return nil, &ConditionError{Reason: "environment cannot be built", Err: err}
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, &ConditionError{Reason: "does not compile: " + issues(iss), Err: iss.Err()}
	}
	switch out := ast.OutputType(); {
	case out.IsExactType(types.BoolType), out.IsExactType(types.DynType):
	default:
		return nil, &ConditionError{Reason: "must evaluate to a bool, got " + out.String()}
	}
	if field := unknownEventField(ast); field != "" {
		return nil, &ConditionError{Reason: fmt.Sprintf("refers to event.%s, which events do not have (they have %s)",
			field, strings.Join(EventFields, ", "))}
	}
	prg, err := env.Program(ast,
		cel.CostLimit(MaxConditionCost),
		cel.EvalOptions(cel.OptOptimize),
	)
	if err != nil {
		return nil, &ConditionError{Reason: "cannot be planned: " + err.Error(), Err: err}
	}
	return prg, nil
}

// issues formats compile issues on one line ("1:6: Syntax error: ..."), leaving out the source
// snippet CEL adds, so that the message fits in a reply.
func issues(iss *cel.Issues) string {
	var parts []string
	for _, e := range iss.Errors() {
		loc := e.Location
		parts = append(parts, fmt.Sprintf("%d:%d: %s", loc.Line(), loc.Column()+1, e.Message))
	}
	if len(parts) == 0 {
		return iss.Err().Error()
	}
	return strings.Join(parts, "; ")
}

// unknownEventField returns the first field that the condition selects on event (event.x,
// has(event.x), event["x"]) that is not one of EventFields, or "".
func unknownEventField(a *cel.Ast) string {
	var found string
	isEvent := func(e celast.Expr) bool {
		return e.Kind() == celast.IdentKind && e.AsIdent() == ConditionVariable
	}
	celast.PreOrderVisit(celast.NavigateAST(a.NativeRep()), celast.NewExprVisitor(func(e celast.Expr) {
		if found != "" {
			return
		}
		var field string
		switch e.Kind() {
		case celast.SelectKind:
			if s := e.AsSelect(); isEvent(s.Operand()) {
				field = s.FieldName()
			}
		case celast.CallKind:
			c := e.AsCall()
			if c.FunctionName() == operators.Index && len(c.Args()) == 2 && isEvent(c.Args()[0]) &&
				c.Args()[1].Kind() == celast.LiteralKind {
				if s, ok := c.Args()[1].AsLiteral().(types.String); ok {
					field = string(s)
				}
			}
		case celast.ComprehensionKind:
			// A comprehension variable named event shadows the variable; give up rather than
			// refuse a condition that may be right.
			if c := e.AsComprehension(); c.IterVar() == ConditionVariable || c.AccuVar() == ConditionVariable {
				found = "-"
			}
		}
		if field != "" && !contains(EventFields, field) {
			found = field
		}
	}))
	if found == "-" {
		return ""
	}
	return found
}
