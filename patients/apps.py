from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "尘肺病患者与康复"

    def ready(self):
        from patients.selectors import rehab_station_counts
        from targets.indicators import register_supplier

        # 至少完成 N 个康复站建设: the targets' count figure comes from the stations recorded here.
        register_supplier("rehab_stations", rehab_station_counts)
