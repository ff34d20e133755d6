"""Replay checks of demand-forecast: called by the rollout with every replayed request (docs/rollouts.md)."""
import statistics


def forecasts_stay_plausible(records):
    """No negative forecast, and the candidate moves forecasts by less than 20% in the median.

    A retrained model should refine the forecasts, not reinvent them: a large median change means
    the training data or the code changed more than the release says.
    """
    pairs = [
        (r["current"]["body"]["demand"], r["candidate"]["body"]["demand"])
        for r in records
        if r["current"] and r["current"]["status"] == 200 and r["candidate"]["status"] == 200
    ]
    if not pairs:
        return {"passed": True, "reason": "no request both models answered", "observed": 0}
    negative = sum(1 for _, new in pairs if new < 0)
    if negative:
        return {"passed": False, "reason": f"{negative} negative forecasts", "observed": negative}
    change = statistics.median(abs(new - old) / old for old, new in pairs if old)
    return {
        "passed": change < 0.2,
        "reason": f"median change {change:.1%} over {len(pairs)} requests (at most 20%)",
        "observed": round(change, 4),
    }
