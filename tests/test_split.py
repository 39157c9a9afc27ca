from crossling.analysis.split import selection_confirmation


def test_split_is_disjoint_seeded_and_covers_all() -> None:
    ids = [f"i{k}" for k in range(21)]
    sel, conf = selection_confirmation(ids, seed=3)
    assert set(sel).isdisjoint(conf)
    assert set(sel) | set(conf) == set(ids)
    assert abs(len(sel) - len(conf)) <= 1
    assert selection_confirmation(list(reversed(ids)), seed=3) == (sel, conf)
    assert selection_confirmation(ids, seed=4) != (sel, conf)


def test_split_keeps_both_sides_non_empty() -> None:
    sel, conf = selection_confirmation(["a", "b"], seed=0, selection_fraction=0.99)
    assert len(sel) == 1 and len(conf) == 1
