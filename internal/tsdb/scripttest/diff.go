package scripttest

import "strings"

// diff returns a line diff of want and got ("-" only in want, "+" only in
// got, " " in both), or "" when they are equal. Lines are compared
// without surrounding blanks.
func diff(want, got []string) string {
	w, g := trimAll(want), trimAll(got)
	if strings.Join(w, "\n") == strings.Join(g, "\n") && len(w) == len(g) {
		return ""
	}
	// Longest common subsequence; script outputs are a few lines long.
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var sb strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			sb.WriteString("  " + w[i] + "\n")
			i++
			j++
		case j < len(g) && (i == len(w) || lcs[i][j+1] >= lcs[i+1][j]):
			sb.WriteString("+ " + g[j] + "\n")
			j++
		default:
			sb.WriteString("- " + w[i] + "\n")
			i++
		}
	}
	return sb.String()
}

func trimAll(ls []string) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = strings.TrimSpace(l)
	}
	return out
}
