def test_a_job_runs_to_completion(service):
    kb = service.create_kb()
    job = service.run(kb, [{"id": "a", "content": "# Hello\nworld"}])
    assert job["status"] == "completed"
    assert job["data"]["progress"] == {"processed": 1, "total": 1, "successful": 1, "failed": 0, "skipped": 0}
