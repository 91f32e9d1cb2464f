package driverspec

import (
	"fmt"
	"strings"
)

// didYouMean returns ` (did you mean "x"?)` for the candidates closest to
// value, or "" when none is close.
func didYouMean(value string, candidates []string, aliases map[string]string) string {
	suggestions := closest(value, candidates)
	if alias, ok := aliases[strings.ToLower(value)]; ok {
		suggestions = []string{alias}
	}
	if len(suggestions) == 0 {
		return ""
	}
	return " (" + suggest(suggestions) + ")"
}

// suggest phrases `did you mean "a" or "b"?`.
func suggest(suggestions []string) string {
	quoted := make([]string, len(suggestions))
	for i, suggestion := range suggestions {
		quoted[i] = fmt.Sprintf("%q", suggestion)
	}
	return "did you mean " + strings.Join(quoted, " or ") + "?"
}

// closest returns the candidates nearest to value, ignoring case, "_" and
// "-", when they are within a couple of edits. Ties are all returned: for
// "volums", "volume" and "volumes" are equally likely.
func closest(value string, candidates []string) []string {
	normalized := normalize(value)
	limit := 1
	if len(normalized) >= 5 {
		limit = 2
	}
	var best []string
	bestDistance := limit + 1
	for _, candidate := range candidates {
		distance := editDistance(normalized, normalize(candidate))
		switch {
		case distance < bestDistance:
			best, bestDistance = []string{candidate}, distance
		case distance == bestDistance:
			best = append(best, candidate)
		}
	}
	return best
}

func normalize(s string) string {
	return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ar, br := []rune(a), []rune(b)
	previous := make([]int, len(br)+1)
	current := make([]int, len(br)+1)
	for j := range previous {
		previous[j] = j
	}
	for i := 1; i <= len(ar); i++ {
		current[0] = i
		for j := 1; j <= len(br); j++ {
			cost := 1
			if ar[i-1] == br[j-1] {
				cost = 0
			}
			current[j] = min(previous[j]+1, current[j-1]+1, previous[j-1]+cost)
		}
		previous, current = current, previous
	}
	return previous[len(br)]
}
