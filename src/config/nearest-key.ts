/**
 * The known key an unknown one was most likely meant to be (`confirmation` → `confirmations`),
 * or undefined when none is close. Close means an edit distance of at most a third of the
 * longer name (at least 1, at most 3), so a typo is caught and an unrelated key is not
 * "corrected" into a misleading suggestion.
 */
export function nearestKey(unknown: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined
  for (const key of known) {
    const distance = editDistance(unknown.toLowerCase(), key.toLowerCase())
    const allowed = Math.min(3, Math.max(1, Math.floor(Math.max(unknown.length, key.length) / 3)))
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { key, distance }
  }
  return best?.key
}

/** Levenshtein distance with adjacent transpositions counted as one edit (`qourum` → `quorum`). */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const substitution = rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, substitution)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = best
    }
  }
  return rows[a.length]![b.length]!
}
