// CPU time donated by each contributor: the sum of cpu_ms over attempts that ended since a moment.
import type { Database } from 'sql.js';

export function cpuByContributor(db: Database, since: number): Record<string, number> {
  const stmt = db.prepare(
    `SELECT contributor, SUM(cpu_ms) AS cpu FROM attempts
     WHERE ended_at >= ? AND cpu_ms IS NOT NULL AND contributor IS NOT NULL
     GROUP BY contributor`,
  );
  const out: Record<string, number> = {};
  try {
    stmt.bind([since]);
    while (stmt.step()) {
      const r = stmt.getAsObject();
      out[r.contributor as string] = Math.round(Number(r.cpu ?? 0));
    }
  } finally {
    stmt.free();
  }
  return out;
}

/** Contributors whose credential was revoked: the GUI shows them so and offers no second revoke. */
export function revokedContributors(db: Database): string[] {
  const r = db.exec("SELECT contributor_id FROM credentials WHERE state = 'revoked'");
  return (r[0]?.values ?? []).map((v) => String(v[0]));
}
