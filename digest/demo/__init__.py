"""Demo content from real recorded data (copies of tests/fixtures/ files, shipped with the
package so a fresh clone can run ``manage.py load_demo`` without anything else):

- ``arxiv_api_query.xml``, ``arxiv_rss_cs_multi.xml``, ``hf_daily_papers_2026.json``: ingested
  through ``digest.papers.ingest`` exactly as if fetched;
- ``hf_papers_pages.jsonl``: the 96 distinct papers of one Hugging Face papers page (titles,
  abstracts, code links), stored as papers keyed ``hfpage:<sha1 of the title>``.
"""
