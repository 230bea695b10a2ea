/** Prefix of the line on which a contender process reports its measurement. */
export const resultMarker = '@@bench-result ';
