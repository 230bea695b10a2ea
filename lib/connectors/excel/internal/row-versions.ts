/**
 * A set of row versions — (row number, content hash) pairs — looked up by row number, so no
 * key string is built per row. A row has one version in it nearly always; two when the
 * workbook was replaced with the row edited while its old version was still out.
 */
export class RowVersions {
  private readonly byRow = new Map<number, string | string[]>();

  has(row: number, hash: string): boolean {
    const versions = this.byRow.get(row);
    return versions === hash || (Array.isArray(versions) && versions.includes(hash));
  }

  add(row: number, hash: string): void {
    const versions = this.byRow.get(row);
    if (versions === undefined) this.byRow.set(row, hash);
    else if (typeof versions === 'string') {
      if (versions !== hash) this.byRow.set(row, [versions, hash]);
    } else if (!versions.includes(hash)) versions.push(hash);
  }

  delete(row: number, hash: string): void {
    const versions = this.byRow.get(row);
    if (versions === hash) this.byRow.delete(row);
    else if (Array.isArray(versions)) {
      const rest = versions.filter((version) => version !== hash);
      this.byRow.set(row, rest.length === 1 ? (rest[0] as string) : rest);
    }
  }
}
