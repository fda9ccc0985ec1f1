/** True when dist/.built is at least as new as the newest non-test .ts under src/, or there is no src/ (an installed image). */
export declare function compiledIsFresh(): boolean;
