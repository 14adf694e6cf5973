// While a session runs (its grade is provisional, QualityFinal false), its page asks every 2 s for the
// points after the last one it holds (DescribeDeviceSessionDetails with StartTime) and for the grade so
// far (DescribeSessionQuality), and extends its charts. This module runs the timer and decides what to
// ask; the page (views/session.js) takes the answers.

const LIVE_EVERY_MS = 2000;

/**
 * The StartTime of the next Details request: just after the last point held of the device furthest
 * behind; 0 (every point) while one of the session's two devices has not reported yet, so the points a
 * device sends before joining the page's view are not cut off.
 */
export function sinceOf(details) {
  const both = ['field', 'remote'].every((t) => details.some((d) => d.DeviceType === t));
  if (!both) return 0;
  const lasts = details.map((d) => d.StartTime + (d.TimeOffset.length ? d.TimeOffset[d.TimeOffset.length - 1] : -1));
  return Math.min(...lasts) + 1;
}

/** Whether the page must redraw for a new grade: another grade, final now, other incidents, or the grade known now. */
export function gradeChanged(before, after) {
  return after.Quality !== before.Quality || after.QualityFinal !== before.QualityFinal
    || (after.Incidents || []).length !== (before.Incidents || []).length || !!after.error !== !!before.error;
}

/**
 * Polls every 2 s until the returned stop() is called or `onData` returns false (the grade is final).
 * onData(fresh Details, the grade so far or null when its request failed, that failure); onError(e) when
 * the points could not be fetched (the next tick tries again).
 */
export function pollLive({ call, sessionId, held, onData, onError }) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    try {
      const [fresh, grade] = await Promise.all([
        call('DescribeDeviceSessionDetails', { SessionId: sessionId, StartTime: sinceOf(held()) }).then((r) => r.Details || []),
        call('DescribeSessionQuality', { SessionId: sessionId }).then((r) => ({ quality: r }), (e) => ({ error: e })),
      ]);
      if (stopped) return;
      if (!onData(fresh, grade.quality || null, grade.error || null)) {
        stopped = true;
        return;
      }
    } catch (e) {
      if (stopped) return; // the page is gone: nothing to tell, nowhere to tell it
      onError(e);
    }
    if (!stopped) timer = setTimeout(tick, LIVE_EVERY_MS);
  };
  timer = setTimeout(tick, LIVE_EVERY_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
