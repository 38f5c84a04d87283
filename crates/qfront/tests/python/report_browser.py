"""Drives a study's report page in headless Chromium (Selenium 4 with Debian's chromium and
chromedriver) the way a person would: every scatter plot has one point per complete trial,
hovering a point shows its trial in a tooltip, clicking it opens the trial's parameters, the
table sorts and filters, and the page logs no console error. Saves a screenshot and prints
one JSON object (with the hover response time).

usage: report_browser.py INDEX.html EXPECTED_POINTS SCREENSHOT.png
"""
import json
import pathlib
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By


def driver():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.binary_location = next(p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser")
                                   if pathlib.Path(p).exists())
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main():
    page, expected, shot = pathlib.Path(sys.argv[1]).resolve(), int(sys.argv[2]), sys.argv[3]
    browser = driver()
    try:
        started = time.perf_counter()
        browser.get(page.as_uri())
        loaded = time.perf_counter() - started
        plots = browser.find_elements(By.CSS_SELECTOR, "svg.scatter")
        assert plots, "no scatter plot"
        counts = [len(p.find_elements(By.CSS_SELECTOR, "circle.point")) for p in plots]
        assert all(c == expected for c in counts), f"points per plot {counts}, expected {expected}"
        point = plots[0].find_elements(By.CSS_SELECTOR, "circle.point")[0]
        number = point.get_attribute("data-trial")
        started = time.perf_counter()
        ActionChains(browser).move_to_element(point).perform()
        tip = browser.find_element(By.ID, "tooltip")
        assert tip.is_displayed(), "the tooltip did not appear"
        hover_ms = (time.perf_counter() - started) * 1e3
        tooltip = tip.text
        assert tooltip.startswith(f"trial {number}"), tooltip
        # The page's own response to a hover (its handler, timed in the page), without the
        # WebDriver round trips included in hover_ms.
        handler_ms = browser.execute_script(
            "const p = arguments[0]; const r = p.getBoundingClientRect();"
            "const t0 = performance.now();"
            "p.dispatchEvent(new MouseEvent('mouseenter', {clientX: r.x, clientY: r.y}));"
            "return performance.now() - t0;", point)
        point.click()
        rows = browser.find_elements(By.CSS_SELECTOR, "#selected-params tr")
        params = [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows[1:]]
        assert params, "the selected trial shows no parameters"
        layers = [r.find_elements(By.TAG_NAME, "td")[0].text
                  for r in browser.find_elements(By.CSS_SELECTOR, "#selected-layers tr")[1:]]
        latency_nodes = len(browser.find_elements(By.CSS_SELECTOR, "#selected-latency tr")) - 1
        command = browser.find_element(By.ID, "export-command").text
        assert f"--trial {number}" in command, command
        # Parallel coordinates: one line per complete trial; brushing the top half of the first
        # axis keeps only the trials there, and the table follows.
        lines = browser.find_elements(By.CSS_SELECTOR, "#parallel polyline.pc-line")
        assert len(lines) == expected, f"{len(lines)} parallel-coordinate lines, expected {expected}"
        band = browser.find_element(By.CSS_SELECTOR, "#parallel rect.brush[data-axis='0']")
        height = band.size["height"]
        ActionChains(browser).move_to_element_with_offset(band, 0, -height // 2 + 1).click_and_hold() \
            .move_to_element_with_offset(band, 0, 0).release().perform()
        kept = len(browser.find_elements(By.CSS_SELECTOR, "#parallel polyline.pc-line:not(.dimmed)"))
        rows_brushed = len(browser.find_elements(By.CSS_SELECTOR, "#trials tr[data-trial]"))
        # The brush keeps complete trials only, and the table shows exactly those.
        assert rows_brushed == kept <= expected, (rows_brushed, kept, expected)
        ActionChains(browser).double_click(band).perform()
        assert not browser.find_elements(By.CSS_SELECTOR, "#parallel polyline.dimmed"), "the brush cleared"
        # The table: one row per trial, sortable, filterable.
        table_rows = lambda: browser.find_elements(By.CSS_SELECTOR, "#trials tr[data-trial]")
        everyone = len(table_rows())
        numbers = [int(r.get_attribute("data-trial")) for r in table_rows()]
        # The table starts sorted by number ascending; a click on that header reverses it.
        assert numbers == sorted(numbers), numbers[:10]
        browser.find_element(By.CSS_SELECTOR, "#trials th[data-key='number']").click()
        first = table_rows()[0].get_attribute("data-trial")
        assert int(first) == max(numbers), (first, max(numbers))
        # Filtering on "complete" keeps exactly the complete trials.
        browser.find_element(By.ID, "filter").send_keys("complete")
        filtered = len(table_rows())
        assert filtered == expected, (filtered, expected)
        browser.save_screenshot(shot)
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        print(json.dumps({"plots": len(plots), "points_per_plot": counts[0], "hovered_trial": int(number),
                          "tooltip": tooltip.splitlines()[0], "selected_params": params, "selected_layers": layers, "latency_nodes": max(latency_nodes, 0),
                          "table_rows": everyone, "first_after_sort": int(first),
                          "rows_after_filter": filtered, "brushed_lines": kept, "brushed_rows": rows_brushed, "load_s": round(loaded, 3),
                          "hover_ms": round(hover_ms, 1), "hover_handler_ms": round(handler_ms, 2), "screenshot": shot}))
    finally:
        browser.quit()


if __name__ == "__main__":
    main()
